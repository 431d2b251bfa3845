import Foundation
import TakedownDocuments
import TakedownModel
import TakedownTestSupport
import Testing

/// The NCMEC hash-sharing documents, written by libxml2's streaming writer and checked by libxml2's schema
/// validator against `Schemas/ncmec-hashsharing-v2.xsd`.
@Suite("NCMEC hash-sharing XML")
struct NCMECDialectTests {
    static let validator = try! XMLSchemaValidator(
        contentsOf: Repository.schemas.appendingPathComponent("ncmec-hashsharing-v2.xsd"))
    static let hotline = NCMECDialect.Member(id: 7, name: "Example Hotline")

    static func change(
        _ seq: Int64, _ media: MediaType = .image, delete: Bool = false, at seconds: TimeInterval = 0
    ) -> HashListChange {
        HashListChange(
            seq: seq, op: delete ? .delete : .upsert, entryId: .generate(), mediaType: media,
            hashes: Hashes(md5: Synthetic.hex(32), sha1: Synthetic.hex(40), sha256: Synthetic.hex(64)),
            classification: Category(ukGrade: .a, classification: .a1),
            updatedAt: Synthetic.epoch.addingTimeInterval(seconds), reason: delete ? .falsePositive : nil)
    }

    static func page(_ page: NCMECDialect.EntriesPage, batch: Int = 100) async throws -> (String, chunks: Int) {
        var bytes: [UInt8] = []
        var chunks = 0
        try await page.write(batch: batch) { chunk in
            bytes += chunk
            chunks += 1
        }
        #expect(validator.problems(in: bytes) == [])
        return (String(decoding: bytes, as: UTF8.self), chunks)
    }

    @Test("status, members and feedback reasons are valid against the schema")
    func smallDocuments() throws {
        let status = try NCMECDialect.status(ipAddress: "127.0.0.1", username: "ptn_x", member: Self.hotline)
        #expect(Self.validator.problems(in: status) == [])
        let text = String(decoding: status, as: UTF8.self)
        #expect(text.hasPrefix(#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#))
        #expect(text.contains(#"<status xmlns="https://hashsharing.ncmec.org/hashsharing/v2">"#))
        #expect(text.contains(#"<member id="7">Example Hotline</member>"#))
        let members = try NCMECDialect.members([Self.hotline, .init(id: 8, name: "Other")])
        #expect(Self.validator.problems(in: members) == [])
        #expect(try NCMECDialect.members([]).isEmpty == false)
        let reasons = try NCMECDialect.feedbackReasons([.init(guid: "g-1", name: "Not CSAM")])
        #expect(Self.validator.problems(in: reasons) == [])
        #expect(String(decoding: reasons, as: UTF8.self).contains(#"<reason guid="g-1" name="Not CSAM"/>"#))
    }

    @Test("an entries page groups images and videos, writes tombstones, the newest time and the next link")
    func entriesPage() async throws {
        let changes = [
            Self.change(1, at: 10), Self.change(2, .video, at: 20), Self.change(3, delete: true, at: 30),
            Self.change(4, .video, delete: true, at: 5),
        ]
        let next = "/v2/entries?from=2027-01-15T08:00:00Z&to=2027-01-16T08:00:00Z&start=5&size=4&max=9"
        let (text, _) = try await Self.page(.init(changes: changes, member: Self.hotline, next: next))
        #expect(text.contains(#"<images count="2" maxTimestamp="\#(NCMECDialect.timestamp(Synthetic.epoch + 30))">"#))
        #expect(text.contains(#"<videos count="2" maxTimestamp="\#(NCMECDialect.timestamp(Synthetic.epoch + 20))">"#))
        #expect(text.contains("<deletedImage><member id=\"7\">Example Hotline</member>"))
        #expect(text.contains("<id>\(changes[3].entryId.rawValue)</id><reason>false_positive</reason></deletedVideo>"))
        #expect(text.contains("<md5>\(changes[0].hashes.md5!)</md5><sha1>\(changes[0].hashes.sha1!)</sha1>"))
        #expect(text.contains("<classification>A1</classification>"))
        // `&` in the link is escaped; the client unescapes it.
        #expect(text.contains("<paging><next>/v2/entries?from=2027-01-15T08:00:00Z&amp;to="))
        #expect(text.firstRange(of: "<images")!.lowerBound < text.firstRange(of: "<videos")!.lowerBound)
        #expect(NCMECDialect.timestamp(Synthetic.epoch) == "2027-01-15T08:00:00Z")
    }

    @Test("a page of 1,000 entries is written in pieces as it goes, and the last page has no paging")
    func streamed() async throws {
        let changes = (1...1000).map { Self.change(Int64($0), $0 % 3 == 0 ? .video : .image) }
        let (text, chunks) = try await Self.page(.init(changes: changes, member: Self.hotline, next: nil), batch: 100)
        #expect(chunks >= 10)
        #expect(!text.contains("<paging>"))
        #expect(text.components(separatedBy: "<image>").count - 1 == 667)
        #expect(text.components(separatedBy: "<video>").count - 1 == 333)
    }

    @Test("names with markup and characters XML cannot carry still make a valid document")
    func hostileText() throws {
        let member = NCMECDialect.Member(id: 9, name: "A&B <hosting> \"quoted\" \u{1}\u{B}\u{FFFE} end")
        let status = try NCMECDialect.status(ipAddress: "::1", username: "]]>&<", member: member)
        #expect(Self.validator.problems(in: status) == [])
        let text = String(decoding: status, as: UTF8.self)
        #expect(text.contains("A&amp;B &lt;hosting&gt;"))
        #expect(!text.contains("\u{1}") && !text.contains("\u{B}") && !text.contains("\u{FFFE}"))
    }

    @Test("the validator is not vacuous: a wrong namespace, a missing member and broken XML are reported")
    func validatorRefuses() {
        let wrongNamespace = #"<?xml version="1.0"?><status xmlns="urn:other"><ipAddress/></status>"#
        #expect(!Self.validator.problems(in: Array(wrongNamespace.utf8)).isEmpty)
        let missing =
            #"<status xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><ipAddress>x</ipAddress><username>u</username></status>"#
        #expect(!Self.validator.problems(in: Array(missing.utf8)).isEmpty)
        let broken = Self.validator.problems(in: Array("<status".utf8))
        #expect(broken.first?.hasPrefix("not well-formed") == true)
    }
}
