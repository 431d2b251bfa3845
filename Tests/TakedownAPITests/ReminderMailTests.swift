import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("Reminder mail")
struct ReminderMailTests {
    @Test(
        "a reminder mail carries the reminder text in the recipient's language, then the notice",
        arguments: [
            ("en", "REMINDER 1 (sequence 2): TAKEDOWN NOTICE", "TAKEDOWN NOTICE"),
            ("de", "ERINNERUNG 1 (Sendung 2): MELDUNG ZUR ENTFERNUNG", "MELDUNG ZUR ENTFERNUNG"),
            ("fr", "RAPPEL 1 (envoi 2) : LA NOTIFICATION DE RETRAIT", "NOTIFICATION DE RETRAIT"),
        ])
    func reminderText(_ locale: String, _ heading: String, _ noticeHeading: String) async throws {
        let test = try await TestGateway { settings in
            settings.smtp = .init(url: "smtp://127.0.0.1:2525", from: "hotline@example.com")
        }
        defer { test.remove() }
        let (partner, _, _) = try await test.gateway.partnerDesk.createPartner(
            PartnerInput(
                name: "Mail Hosting", kind: "hosting_provider", contactEmail: "abuse@mail.test", locale: locale,
                jurisdiction: "DE", routing: .init(domains: ["mail.test"]), delivery: .init(email: "notices@mail.test"))
        )
        let receipt = try await test.gateway.caseDesk.submitCase(
            CaseSubmission(
                reference: "HL-REMIND", category: .init(ukGrade: "A"), mediaType: "image",
                items: [
                    .init(
                        url: "https://mail.test/a.jpg", observedAt: Synthetic.epoch,
                        hashes: .init(md5: Synthetic.hex(32)))
                ]),
            by: .analyst(.generate(), name: "t"))
        let notice = try #require(receipt.notices.first?.id)
        test.clock.advance(by: 2 * 3600)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 1)
        let rows = try await test.store.deliveries(DeliveryQuery(partner: partner.id)).map(\.delivery)
        #expect(rows.map(\.eventType) == ["notice.issued", "notice.reminder"])
        let message = String(decoding: rows[1].payload, as: UTF8.self)
        #expect(message.contains("Subject: Reminder 1: takedown notice \(notice)"))
        let issued = try Self.textPart(rows[0].payload)
        let reminder = try Self.textPart(rows[1].payload)
        #expect(!issued.contains(heading))
        #expect(reminder.contains(heading + " \(notice)"))
        // The full notice text follows the reminder header.
        let body = try #require(reminder.range(of: heading))
        #expect(reminder[body.upperBound...].contains(noticeHeading + " \(notice)"))
    }

    /// The decoded text/plain part of a multipart message.
    static func textPart(_ message: Data) throws -> String {
        let text = String(decoding: message, as: UTF8.self)
        let marker = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        let start = try #require(text.range(of: marker))
        let end = try #require(text.range(of: "\r\n--", range: start.upperBound..<text.endIndex))
        let encoded = text[start.upperBound..<end.lowerBound].replacingOccurrences(of: "\r\n", with: "")
        return String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
    }

    @Test("templates without a reminder text stop start-up")
    func reminderRequired() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in try FileManager.default.contentsOfDirectory(atPath: Repository.templates.path)
        where !name.hasPrefix("reminder.de") {
            try FileManager.default.copyItem(
                at: Repository.templates.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        await #expect(throws: TemplateError.self) { try await NoticeTemplates(directory: directory) }
    }
}
