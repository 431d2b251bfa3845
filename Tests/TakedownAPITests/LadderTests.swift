import Foundation
import Logging
import TakedownModel
import TakedownServer
import TakedownService
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("Escalation ladder")
struct LadderTests {
    static let hour: TimeInterval = 3600

    /// A gateway with a webhook partner and one notice issued to it at the clock's start.
    static func rig(escalateTo: Bool = false, configure: (inout ServerSettings) -> Void = { _ in }) async throws
        -> (TestGateway, Partner, NoticeID, Partner?)
    {
        let test = try await TestGateway(configure: configure)
        let (partner, _, _) = try await test.gateway.partnerDesk.createPartner(
            PartnerInput(
                name: "Slow Hosting", kind: "hosting_provider", contactEmail: "abuse@slow.test", jurisdiction: "GB",
                routing: .init(domains: ["slow.test"]), delivery: .init(webhookUrl: "https://hooks.slow.test/in")))
        var police: Partner?
        if escalateTo {
            police = try await test.gateway.partnerDesk.createPartner(
                PartnerInput(
                    name: "Police Liaison", kind: "law_enforcement", contactEmail: "liaison@police.test",
                    jurisdiction: "GB",
                    delivery: .init(webhookUrl: "https://hooks.police.test/in"))
            ).0
        }
        let receipt = try await test.gateway.caseDesk.submitCase(
            CaseSubmission(
                reference: "HL-LADDER", category: .init(ukGrade: "A"), mediaType: "image",
                items: [
                    .init(
                        url: "https://slow.test/a.jpg", observedAt: Synthetic.epoch,
                        hashes: .init(md5: Synthetic.hex(32)))
                ]),
            by: .analyst(.generate(), name: "t"))
        return (test, partner, try #require(receipt.notices.first?.id), police)
    }

    /// A second gateway over a newly opened store on the same file: a restart, or another instance.
    static func reopened(_ test: TestGateway, ladder: EscalationLadder? = nil) async throws -> Gateway {
        let store = try await GatewayComposition.store(test.settings)
        var settings = test.settings
        settings.bootstrapAdminToken = nil
        if let ladder { settings.ladder = ladder }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try await GatewayComposition.gateway(settings, store: store, clock: test.clock.function, logger: logger)
    }

    static func events(_ store: any GatewayStore, _ notice: NoticeID) async throws -> [String] {
        try await store.deliveries(DeliveryQuery(notice: notice)).map(\.delivery.eventType)
    }

    @Test("the whole ladder, each step once, across a restart")
    func wholeLadder() async throws {
        let (test, _, notice, _) = try await Self.rig()
        defer { test.remove() }
        let gateway = test.gateway
        test.clock.advance(by: 1 * Self.hour)
        #expect(try await gateway.noticeDesk.climbLadder() == 0)
        test.clock.advance(by: 1 * Self.hour)  // +2 h
        #expect(try await gateway.noticeDesk.climbLadder() == 1)
        #expect(try await gateway.noticeDesk.climbLadder() == 0)
        var stored = try #require(try await test.store.notice(notice))
        #expect(stored.sequence == 2)
        #expect(stored.timeline.last?.event == "reminder_sent")
        #expect(try await Self.events(test.store, notice) == ["notice.issued", "notice.reminder"])
        let reminder = try #require(try await test.store.deliveries(DeliveryQuery(notice: notice)).last?.delivery)
        let body = try #require(try JSONSerialization.jsonObject(with: reminder.payload) as? [String: Any])
        let data = try #require(body["data"] as? [String: Any])
        #expect(data["sequence"] as? Int == 2)
        #expect(data["jws"] as? String == stored.jws)  // the same signed notice, re-sent

        // Restart: a new process on the same database carries on from the stored clock.
        let restarted = try await Self.reopened(test)
        test.clock.advance(by: 22 * Self.hour)  // +24 h
        #expect(try await restarted.noticeDesk.climbLadder() == 1)
        test.clock.advance(by: 24 * Self.hour)  // +48 h
        #expect(try await restarted.noticeDesk.climbLadder() == 1)
        test.clock.advance(by: 5 * 24 * Self.hour)  // +7 d
        #expect(try await restarted.noticeDesk.climbLadder() == 1)
        #expect(try await restarted.noticeDesk.climbLadder() == 0)
        stored = try #require(try await test.store.notice(notice))
        #expect(stored.status == .expired)
        #expect(stored.sequence == 3)
        #expect(stored.timeline.map(\.event) == ["issued", "reminder_sent", "reminder_sent", "escalated", "expired"])
        #expect(try await Self.events(test.store, notice) == ["notice.issued", "notice.reminder", "notice.reminder"])
    }

    @Test("a catch-up after downtime takes one step per round, never skipping or repeating")
    func catchUp() async throws {
        let (test, _, notice, _) = try await Self.rig()
        defer { test.remove() }
        test.clock.advance(by: 50 * Self.hour)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 1)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 1)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 1)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 0)
        #expect(
            try await test.store.notice(notice)?.timeline.map(\.event) == [
                "issued", "reminder_sent", "reminder_sent", "escalated",
            ])
    }

    @Test("removal, unable, dispute and withdrawal stop the ladder; acknowledgement does not")
    func stops() async throws {
        let (test, partner, notice, _) = try await Self.rig()
        defer { test.remove() }
        let provider = Principal.partner(.generate(), partner.id)
        _ = try await test.gateway.noticeDesk.answer(notice, .acknowledge, by: provider)
        test.clock.advance(by: 2 * Self.hour)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 1)
        _ = try await test.gateway.noticeDesk.answer(
            notice, .removal(action: .removed, removedAt: nil, urls: nil), by: provider)
        test.clock.advance(by: 7 * 24 * Self.hour)
        #expect(try await test.gateway.noticeDesk.climbLadder() == 0)
        let stored = try #require(try await test.store.notice(notice))
        #expect(stored.status == .removed)
        #expect(stored.timeline.map(\.event).filter { $0 == "reminder_sent" || $0 == "escalated" } == ["reminder_sent"])

        for answer in [NoticeAnswer.unable(reason: "not ours"), .dispute(reason: "lawful")] {
            let (other, otherPartner, otherNotice, _) = try await Self.rig()
            defer { other.remove() }
            _ = try await other.gateway.noticeDesk.answer(
                otherNotice, answer, by: .partner(.generate(), otherPartner.id))
            other.clock.advance(by: 8 * 24 * Self.hour)
            #expect(try await other.gateway.noticeDesk.climbLadder() == 0)
        }
    }

    @Test("two instances running the ladder at once take each step once", arguments: TestBackend.available)
    func twoInstances(_ backend: TestBackend) async throws {
        try await backend.run { database in
            let (test, _, first, _) = try await Self.rig(configure: database)
            // More notices than one, so the two instances meet on several rows in each round.
            var notices = [first]
            for index in 1..<12 {
                let receipt = try await test.gateway.caseDesk.submitCase(
                    CaseSubmission(
                        reference: "HL-LADDER-\(index)", category: .init(ukGrade: "A"), mediaType: "image",
                        items: [
                            .init(
                                url: "https://slow.test/\(index).jpg", observedAt: Synthetic.epoch,
                                hashes: .init(md5: Synthetic.hex(32)))
                        ]),
                    by: .analyst(.generate(), name: "t"))
                notices.append(try #require(receipt.notices.first?.id))
            }
            let instances = [try await Self.reopened(test), try await Self.reopened(test)]
            // Every step of the default ladder, both instances racing for each.
            for hours: TimeInterval in [2, 24, 48, 7 * 24] {
                test.clock.advance(by: hours * Self.hour - test.clock.now.timeIntervalSince(Synthetic.epoch))
                async let a = instances[0].noticeDesk.climbLadder()
                async let b = instances[1].noticeDesk.climbLadder()
                #expect(try await a + b == notices.count, "at +\(hours) h")
            }
            #expect(try await instances[0].noticeDesk.climbLadder() + instances[1].noticeDesk.climbLadder() == 0)
            for notice in notices {
                let stored = try #require(try await test.store.notice(notice))
                #expect(stored.sequence == 3)
                #expect(stored.status == .expired)
                #expect(
                    stored.timeline.map(\.event) == [
                        "issued", "reminder_sent", "reminder_sent", "escalated", "expired",
                    ])
                #expect(
                    try await Self.events(test.store, notice) == [
                        "notice.issued", "notice.reminder", "notice.reminder",
                    ])
            }
            for instance in instances { await GatewayComposition.close(instance.store) }
            await test.close()
        }
    }

    @Test("escalation goes to the escalation partner through the outbox")
    func escalation() async throws {
        let (test, _, notice, escalationPartner) = try await Self.rig(escalateTo: true)
        defer { test.remove() }
        let police = try #require(escalationPartner)
        let gateway = try await Self.reopened(
            test, ladder: EscalationLadder(steps: [.init(after: 3600, action: .escalate(to: police.id))]))
        test.clock.advance(by: Self.hour)
        #expect(try await gateway.noticeDesk.climbLadder() == 1)
        let rows = try await test.store.deliveries(DeliveryQuery(partner: police.id)).map(\.delivery)
        #expect(rows.map(\.eventType) == ["notice.escalated"])
        #expect(rows.first?.noticeId == notice)
        #expect(rows.first?.endpoint == "https://hooks.police.test/in")
        #expect(try await test.store.notice(notice)?.timeline.last?.detail == "to \(police.id)")
    }

    @Test("the ladder setting parses seconds and actions")
    func parsing() {
        let partner = PartnerID.generate()
        let ladder = EscalationLadder(parsing: "604800:expire, 7200:reminder,172800:escalate", escalateTo: partner)
        #expect(ladder?.steps.map(\.after) == [7200, 172_800, 604_800])
        #expect(ladder?.steps[1].action == .escalate(to: partner))
        #expect(EscalationLadder(parsing: "soon:reminder", escalateTo: nil) == nil)
        #expect(EscalationLadder(parsing: "60:shout", escalateTo: nil) == nil)
    }
}
