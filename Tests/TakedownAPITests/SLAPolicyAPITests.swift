import Foundation
import HTTPTypes
import TakedownModel
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("API: SLA policies")
struct SLAPolicyAPITests {
    /// A quick policy: reminder after 10 minutes, escalation after an hour, expiry after a day.
    static var fast: [String: Any] {
        [
            "name": "UK members", "deadline_seconds": 7200,
            "ladder": [
                ["after_seconds": 600, "action": "reminder"], ["after_seconds": 3600, "action": "escalation"],
                ["after_seconds": 86_400, "action": "expiry"],
            ],
        ]
    }

    func staffToken(_ api: API, role: String) async throws -> String {
        let reply = try await api.call(.post, "/v1/tokens", json: ["role": role, "name": "t"])
        return try #require(reply["token"] as? String)
    }

    @Test("admins create policies; staff list and read them, the default one first")
    func createAndRead() async throws {
        try await API.run { api async throws in
            let created = try await api.call(.post, "/v1/sla-policies", json: Self.fast)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created["id"] as? String)
            #expect(id.hasPrefix("sla_"))
            #expect(created["deadline_seconds"] as? Int == 7200)
            #expect(created["default"] as? Bool == false)
            #expect(created.json.keys.contains("escalation_partner_id"))
            #expect(created["escalation_partner_id"] is NSNull)
            let ladder = try #require(created["ladder"] as? [[String: Any]])
            #expect(ladder.compactMap { $0["action"] as? String } == ["reminder", "escalation", "expiry"])

            let analyst = try await staffToken(api, role: "analyst")
            let listed = try await api.call(.get, "/v1/sla-policies", token: analyst)
            let policies = try #require(listed["policies"] as? [[String: Any]])
            #expect(policies.compactMap { $0["id"] as? String } == ["sla_default", id])
            #expect(policies[0]["default"] as? Bool == true)
            #expect(policies[0]["deadline_seconds"] as? Int == 86_400)
            #expect((policies[0]["ladder"] as? [[String: Any]])?.count == 4)
            #expect(
                try await api.call(.get, "/v1/sla-policies/\(id)", token: analyst)["name"] as? String == "UK members")
            #expect(try await api.call(.get, "/v1/sla-policies/sla_default")["default"] as? Bool == true)
            #expect(try await api.call(.get, "/v1/sla-policies/sla_0000000000000000000000000a").isProblem(.notFound))
            #expect(
                try await api.call(.post, "/v1/sla-policies", token: analyst, json: Self.fast).isProblem(.forbidden))
            let partner = try await api.partner()
            #expect(try await api.call(.get, "/v1/sla-policies", token: partner.token).isProblem(.forbidden))
        }
    }

    @Test("invalid policies are problems that change nothing; names are unique")
    func invalid() async throws {
        try await API.run { api async throws in
            let reply = try await api.call(
                .post, "/v1/sla-policies",
                json: [
                    "name": " ", "deadline_seconds": 0,
                    "ladder": [["after_seconds": 5, "action": "expiry"], ["after_seconds": 9, "action": "nag"]],
                    "escalation_partner_id": "ptn_0000000000000000000000000a",
                ])
            #expect(reply.isProblem(.unprocessableContent))
            #expect(reply.invalidFields == ["name", "deadline_seconds", "ladder[1].action", "escalation_partner_id"])
            var missing = Self.fast
            missing["escalation_partner_id"] = "ptn_0000000000000000000000000a"
            let unknown = try await api.call(.post, "/v1/sla-policies", json: missing)
            #expect(unknown.isProblem(.unprocessableContent))
            #expect(unknown.invalidFields == ["escalation_partner_id"])
            #expect(
                try await api.call(.post, "/v1/sla-policies", raw: "{\"deadline_seconds\": \"soon\"}").isProblem(
                    .badRequest))
            #expect((try await api.call(.get, "/v1/sla-policies")["policies"] as? [Any])?.count == 1)
            #expect(try await api.call(.post, "/v1/sla-policies", json: Self.fast).status == .created)
            #expect(try await api.call(.post, "/v1/sla-policies", json: Self.fast).isProblem(.conflict))
        }
    }

    @Test("a partner gets a policy by PATCH or at creation; an unknown one changes nothing")
    func partnerPolicy() async throws {
        try await API.run { api async throws in
            let policy = try #require(try await api.call(.post, "/v1/sla-policies", json: Self.fast)["id"] as? String)
            let partner = try await api.partner()
            #expect(try await api.call(.get, "/v1/partners/\(partner.id)")["sla_policy_id"] as? String == "sla_default")
            let unknown = try await api.call(
                .patch, "/v1/partners/\(partner.id)",
                json: ["sla_policy_id": "sla_0000000000000000000000000a", "name": "Renamed"])
            #expect(unknown.isProblem(.unprocessableContent))
            #expect(unknown.invalidFields == ["sla_policy_id"])
            #expect(try await api.call(.get, "/v1/partners/\(partner.id)")["name"] as? String == "Example Hosting")
            let set = try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["sla_policy_id": policy])
            #expect(set["sla_policy_id"] as? String == policy)
            let cleared = try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["sla_policy_id": ""])
            #expect(cleared["sla_policy_id"] as? String == "sla_default")
            let created = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Second", "kind": "hosting_provider", "contact_email": "abuse@second.test",
                    "jurisdiction": "GB", "routing": ["domains": ["second.test"]], "sla_policy_id": policy,
                ])
            #expect(created["sla_policy_id"] as? String == policy)
        }
    }

    @Test("the recipient's policy sets the deadline at issue and drives its ladder")
    func noticeClock() async throws {
        try await API.run { api async throws in
            let police = try await api.partner("Police", domains: [], kind: "law_enforcement")
            var body = Self.fast
            body["escalation_partner_id"] = police.id
            let policy = try #require(try await api.call(.post, "/v1/sla-policies", json: body)["id"] as? String)
            let fast = try await api.partner("Fast Hosting", domains: ["fast.test"])
            _ = try await api.call(.patch, "/v1/partners/\(fast.id)", json: ["sla_policy_id": policy])
            _ = try await api.call(
                .patch, "/v1/partners/\(police.id)", json: ["delivery": ["webhook_url": "https://hooks.police.test/in"]]
            )
            let slow = try await api.partner("Default Hosting", domains: ["default.test"])
            let fastNotice = API.firstNotice(try await api.submit(["https://fast.test/a.jpg"]))
            let slowNotice = API.firstNotice(try await api.submit(["https://default.test/a.jpg"]))

            let shown = try await api.call(.get, "/v1/notices/\(fastNotice)")
            #expect(shown["sla_policy_id"] as? String == policy)
            let issued = try #require(Timestamp.parse(shown["issued_at"] as? String ?? ""))
            #expect(Timestamp.parse(shown["deadline_at"] as? String ?? "") == issued.addingTimeInterval(7200))
            let other = try await api.call(.get, "/v1/notices/\(slowNotice)", token: slow.token)
            #expect(other["sla_policy_id"] as? String == "sla_default")
            #expect(Timestamp.parse(other["deadline_at"] as? String ?? "") == issued.addingTimeInterval(86_400))

            let gateway = api.test.gateway
            api.test.clock.advance(by: 600)
            // The fast policy's reminder; the default waits 2 h.
            #expect(try await gateway.noticeDesk.climbLadder() == 1)
            api.test.clock.advance(by: 3000)
            #expect(try await gateway.noticeDesk.climbLadder() == 1)  // escalation to the policy's partner
            let escalations = try await api.test.store.deliveries(
                DeliveryQuery(partner: PartnerID(rawValue: police.id)))
            #expect(escalations.map(\.delivery.eventType) == ["notice.escalated"])
            #expect(escalations.first?.delivery.noticeId.rawValue == fastNotice)
            let timeline = try await api.call(.get, "/v1/notices/\(fastNotice)")["timeline"] as? [[String: Any]]
            #expect(timeline?.compactMap { $0["event"] as? String } == ["issued", "reminder_sent", "escalated"])
            #expect((try await api.test.store.notice(NoticeID(rawValue: slowNotice)))?.ladderStep == 0)
        }
    }

    @Test("staff see a notice's verification record; partners do not")
    func verifications() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let notice = API.firstNotice(try await api.submit(["https://example.com/a.jpg"]))
            let reply = try await api.call(.get, "/v1/notices/\(notice)/verifications")
            #expect(reply.status == .ok)
            #expect(reply["notice_id"] as? String == notice)
            #expect((reply["checks"] as? [Any])?.isEmpty == true)
            #expect(reply["verified_at"] is NSNull)
            let next = try #require(Timestamp.parse(reply["next_check_at"] as? String ?? ""))
            #expect(next == api.test.clock.now.addingTimeInterval(6 * 3600))
            #expect(
                try await api.call(.get, "/v1/notices/\(notice)/verifications", token: partner.token).isProblem(
                    .forbidden))
            #expect(
                try await api.call(.get, "/v1/notices/ntc_0000000000000000000000000a/verifications").isProblem(
                    .notFound))
        }
    }
}
