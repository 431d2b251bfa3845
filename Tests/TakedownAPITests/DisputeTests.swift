import Foundation
import TakedownModel
import TakedownService
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("Disputes decided")
struct DisputeTests {
    static func decide(_ api: API, _ notice: String, _ decision: String, token: String) async throws -> Reply {
        try await api.call(
            .post, "/v1/notices/\(notice)/dispute/decision", token: token,
            json: ["decision": decision, "reason": "decided by \(decision)"])
    }

    @Test("uphold restarts the clock; one appeal, decided by someone else; the provider sees every reason")
    func upholdAppealFourEyes() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let notice = API.firstNotice(try await api.submit(["https://example.com/1.jpg"]))
            let first = try await api.call(.get, "/v1/notices/\(notice)", token: provider.token)
            let window = try #require(Timestamp.parse(first["deadline_at"] as? String ?? "")).timeIntervalSince(
                try #require(Timestamp.parse(first["issued_at"] as? String ?? "")))
            let alice = try await api.test.gateway.tokenDesk.createStaffToken(role: .analyst, name: "alice").secret
            let bob = try await api.test.gateway.tokenDesk.createStaffToken(role: .analyst, name: "bob").secret

            // Nothing to decide before a dispute; only staff decide; a decision needs both fields.
            #expect(try await Self.decide(api, notice, "uphold", token: alice).isProblem(.conflict))
            #expect(try await Self.decide(api, notice, "uphold", token: provider.token).isProblem(.forbidden))
            let bad = try await api.call(
                .post, "/v1/notices/\(notice)/dispute/decision", token: alice, json: ["decision": "maybe"])
            #expect(bad.isProblem(.unprocessableContent) && Set(bad.invalidFields) == ["decision", "reason"])
            #expect(
                try await api.call(.post, "/v1/notices/\(notice)/appeal", token: provider.token, json: ["reason": "x"])
                    .isProblem(.conflict))

            try await api.call(.post, "/v1/notices/\(notice)/dispute", token: provider.token, json: ["reason": "ours?"])
            api.test.clock.advance(by: 3600)
            let upheld = try await Self.decide(api, notice, "uphold", token: alice)
            #expect(upheld.status == .ok && upheld["status"] as? String == "delivered")
            let deadline = try #require(Timestamp.parse(upheld["deadline_at"] as? String ?? ""))
            #expect(abs(deadline.timeIntervalSince(api.test.clock.now) - window) < 1)

            // A second dispute is refused: the provider appeals instead, once.
            #expect(
                try await api.call(
                    .post, "/v1/notices/\(notice)/dispute", token: provider.token, json: ["reason": "again"]
                )
                .isProblem(.conflict))
            let appealed = try await api.call(
                .post, "/v1/notices/\(notice)/appeal", token: provider.token, json: ["reason": "wrong host"])
            #expect(appealed["status"] as? String == "disputed")
            let again = try await api.call(
                .post, "/v1/notices/\(notice)/appeal", token: provider.token, json: ["reason": "wrong host"])
            #expect(again.status == .ok && again["status"] as? String == "disputed")
            #expect(
                try await api.call(.post, "/v1/notices/\(notice)/appeal", json: ["reason": "x"]).isProblem(.forbidden))

            // Four eyes: whoever upheld the dispute cannot decide the appeal.
            let same = try await Self.decide(api, notice, "uphold", token: alice)
            #expect(same.isProblem(.forbidden) && (same["detail"] as? String)?.contains("analyst:alice") == true)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["status"] as? String == "disputed")
            let granted = try await Self.decide(api, notice, "accept", token: bob)
            #expect(granted["status"] as? String == "withdrawn")
            #expect(
                try await api.call(.post, "/v1/notices/\(notice)/appeal", token: provider.token, json: ["reason": "x"])
                    .isProblem(.conflict))

            let seen = try await api.call(.get, "/v1/notices/\(notice)", token: provider.token)
            let events = (seen["timeline"] as? [[String: Any]] ?? []).map { $0["event"] as? String ?? "" }
            #expect(Array(events.suffix(3)) == ["dispute_upheld", "appealed", "appeal_granted"])
            let reasons = (seen["timeline"] as? [[String: Any]] ?? []).compactMap { $0["detail"] as? String }
            #expect(reasons.contains("decided by uphold") && reasons.contains("decided by accept"))
        }
    }

    @Test("accepting a dispute withdraws the notice and pushes the decision to the provider")
    func acceptPushes() async throws {
        try await API.run { api in
            let created = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Hooked Hosting", "kind": "hosting_provider", "contact_email": "abuse@hooked.test",
                    "locale": "en", "jurisdiction": "GB", "routing": ["domains": ["hooked.test"]],
                    "delivery": ["webhook_url": "https://hooks.hooked.test/in"],
                ])
            let token = try #require(created["token"] as? String)
            let notice = API.firstNotice(try await api.submit(["https://hooked.test/1.jpg"]))
            try await api.call(.post, "/v1/notices/\(notice)/dispute", token: token, json: ["reason": "not ours"])
            let accepted = try await Self.decide(api, notice, "accept", token: API.admin)
            #expect(accepted["status"] as? String == "withdrawn")
            let deliveries = try await api.test.store.deliveries(DeliveryQuery(notice: NoticeID(rawValue: notice)))
            let pushed = try #require(deliveries.last?.delivery)
            #expect(pushed.eventType == "notice.dispute_decided")
            let body = try #require(try JSONSerialization.jsonObject(with: pushed.payload) as? [String: Any])
            #expect((body["data"] as? [String: Any])?["reason"] as? String == "decided by accept")
        }
    }

    @Test("the ladder waits while a notice is disputed and runs again from the decision that upheld it")
    func ladderRestarts() async throws {
        let (test, partner, notice, _) = try await LadderTests.rig()
        defer { test.remove() }
        let gateway = test.gateway
        let provider = Principal.partner(.generate(), partner.id)
        test.clock.advance(by: 3 * LadderTests.hour)
        #expect(try await gateway.noticeDesk.climbLadder() == 1)  // the 2 h reminder
        _ = try await gateway.noticeDesk.answer(notice, .dispute(reason: "not ours"), by: provider)
        test.clock.advance(by: 27 * LadderTests.hour)  // +30 h: the 24 h reminder would be due, but it is disputed
        #expect(try await gateway.noticeDesk.climbLadder() == 0)
        let staff = Principal.analyst(.generate(), name: "carol")
        let upheld = try await gateway.noticeDesk.answer(
            notice, .decideDispute(uphold: true, reason: "it is yours"), by: staff)
        #expect(upheld.clockFrom == test.clock.now && upheld.status == .delivered)
        #expect(upheld.deadlineAt == test.clock.now.addingTimeInterval(24 * LadderTests.hour))
        test.clock.advance(by: 1 * LadderTests.hour)  // decision + 1 h: the next step (24 h) is not due
        #expect(try await gateway.noticeDesk.climbLadder() == 0)
        test.clock.advance(by: 23 * LadderTests.hour)  // decision + 24 h
        #expect(try await gateway.noticeDesk.climbLadder() == 1)
        let stored = try #require(try await test.store.notice(notice))
        #expect(stored.clockFrom == upheld.clockFrom && stored.deadlineAt == upheld.deadlineAt)
        #expect(
            stored.timeline.map(\.event) == [
                "issued", "reminder_sent", "delivered", "disputed", "dispute_upheld", "reminder_sent",
            ])
    }
}
