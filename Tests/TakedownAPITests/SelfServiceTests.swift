import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("Provider self-service")
struct SelfServiceTests {
    @Test("a provider makes and revokes its own tokens, never another's, and keeps one active")
    func ownTokens() async throws {
        try await API.run { api in
            let a = try await api.partner("A Hosting", domains: ["a.test"])
            let b = try await api.partner("B Hosting", domains: ["b.test"])
            let made = try await api.call(.post, "/v1/partners/\(a.id)/tokens", token: a.token, json: ["name": "bot"])
            #expect(made.status == .created && made["partner_id"] as? String == a.id, "\(made.text)")
            let botID = try #require(made["id"] as? String)
            let bot = try #require(made["token"] as? String)
            #expect(try await api.call(.get, "/v1/notices", token: bot).status == .ok)
            #expect(try await api.call(.post, "/v1/partners/\(b.id)/tokens", token: a.token).isProblem(.notFound))
            let analyst = try await api.test.gateway.tokenDesk.createStaffToken(role: .analyst, name: "ana").secret
            #expect(try await api.call(.post, "/v1/partners/\(a.id)/tokens", token: analyst).isProblem(.forbidden))

            let listed = try await api.call(.get, "/v1/tokens", token: a.token)
            let ids = (listed["tokens"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.count == 2 && ids.contains(botID))
            #expect(!listed.text.contains("tdk_"))
            let bTokens = try await api.call(.get, "/v1/tokens", token: b.token)
            let bID = try #require((bTokens["tokens"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await api.call(.delete, "/v1/tokens/\(bID)", token: a.token).isProblem(.notFound))
            #expect(try await api.call(.delete, "/v1/tokens/\(bID)", token: b.token).isProblem(.conflict))  // its last
            #expect(try await api.call(.delete, "/v1/tokens/\(bID)", token: analyst).isProblem(.forbidden))

            // The first token revoked with the bot's: the bot carries on, alone, and cannot revoke itself.
            let firstID = try #require(ids.first { $0 != botID })
            #expect(try await api.call(.delete, "/v1/tokens/\(firstID)", token: bot).status == .noContent)
            #expect(try await api.call(.get, "/v1/notices", token: a.token).isProblem(.unauthorized))
            #expect(try await api.call(.delete, "/v1/tokens/\(botID)", token: bot).isProblem(.conflict))

            // At most 20 active at once.
            for index in 1..<20 {
                let more = try await api.call(
                    .post, "/v1/partners/\(a.id)/tokens", token: bot, json: ["name": "t\(index)"])
                #expect(more.status == .created)
            }
            #expect(try await api.call(.post, "/v1/partners/\(a.id)/tokens", token: bot).isProblem(.conflict))
            // Staff are not held to it.
            #expect(try await api.call(.post, "/v1/partners/\(a.id)/tokens").status == .created)
        }
    }

    @Test("a provider changes its contact email, nothing else of its record, and every change is audited")
    func contactAndAudit() async throws {
        try await API.run { api in
            let a = try await api.partner("A Hosting", domains: ["a.test"])
            let b = try await api.partner("B Hosting", domains: ["b.test"])
            let changed = try await api.call(
                .patch, "/v1/partners/\(a.id)", token: a.token, json: ["contact_email": "desk@a.test"])
            #expect(changed.status == .ok && changed["contact_email"] as? String == "desk@a.test", "\(changed.text)")
            for body in [
                ["name": "Mine now"], ["routing": ["domains": ["b.test"]]],
                ["delivery": ["webhook_url": "https://hooks.a.test/in"]], ["jurisdiction": "FR"],
                ["contact_email": "x@a.test", "sla_policy_id": "sla_default"],
            ] as [[String: Any]] {
                let refused = try await api.call(.patch, "/v1/partners/\(a.id)", token: a.token, json: body)
                #expect(refused.isProblem(.forbidden), "\(body): \(refused.text)")
            }
            #expect(
                try await api.call(.patch, "/v1/partners/\(a.id)", token: a.token, json: ["contact_email": "nope"])
                    .isProblem(.unprocessableContent))
            #expect(
                try await api.call(.patch, "/v1/partners/\(b.id)", token: a.token, json: ["contact_email": "x@a.test"])
                    .isProblem(.notFound))
            let stored = try await api.call(.get, "/v1/partners/\(a.id)")
            #expect(stored["contact_email"] as? String == "desk@a.test" && stored["name"] as? String == "A Hosting")

            try await api.call(.post, "/v1/partners/\(a.id)/tokens", token: a.token, json: ["name": "bot"])
            let trail = try await api.call(.get, "/v1/audit?actor=partner:\(a.id)")
            let actions = (trail["entries"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions == ["PATCH /v1/partners/{partner_id}", "POST /v1/partners/{partner_id}/tokens"])
            #expect(!trail.text.contains("tdk_"))
        }
    }

    @Test("a webhook moves only when its signed test event is accepted; a partner without one asks staff")
    func webhookNeedsATest() async throws {
        try await API.run { api in
            let created = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Hooked", "kind": "hosting_provider", "contact_email": "abuse@hooked.test", "locale": "en",
                    "jurisdiction": "GB", "routing": ["domains": ["hooked.test"]],
                    "delivery": ["webhook_url": "https://hooks.hooked.test/in"],
                ])
            let id = try #require(created["id"] as? String)
            let token = try #require(created["token"] as? String)
            let plain = try await api.partner("Plain", domains: ["plain.test"])

            // Nothing listens on 127.0.0.1:9, and loopback is refused anyway: the test fails, nothing changes.
            let refused = try await api.call(
                .post, "/v1/partners/\(id)/webhook", token: token, json: ["webhook_url": "https://127.0.0.1:9/in"])
            #expect(refused.isProblem(.unprocessableContent) && refused.invalidFields == ["webhook_url"])
            #expect((refused["invalid_params"] as? [[String: Any]])?.first?["reason"] as? String != nil)
            let after = try await api.call(.get, "/v1/partners/\(id)", token: token)
            #expect((after["delivery"] as? [String: Any])?["webhook_url"] as? String == "https://hooks.hooked.test/in")

            let malformed = try await api.call(
                .post, "/v1/partners/\(id)/webhook", token: token, json: ["webhook_url": "ftp://x"])
            #expect(malformed.isProblem(.unprocessableContent) && malformed.invalidFields == ["webhook_url"])
            #expect(
                try await api.call(.post, "/v1/partners/\(id)/webhook", token: token, json: [String: Any]())
                    .invalidFields == ["webhook_url"])
            #expect(
                try await api.call(
                    .post, "/v1/partners/\(plain.id)/webhook", token: plain.token,
                    json: ["webhook_url": "https://hooks.plain.test/in"]
                ).isProblem(.conflict))
            #expect(
                try await api.call(
                    .post, "/v1/partners/\(id)/webhook", token: plain.token,
                    json: ["webhook_url": "https://hooks.plain.test/in"]
                ).isProblem(.notFound))
            // The same URL again is no change: no test is sent.
            let same = try await api.call(
                .post, "/v1/partners/\(id)/webhook", token: token, json: ["webhook_url": "https://hooks.hooked.test/in"]
            )
            #expect(same.status == .ok && same["test_status"] is NSNull)
            #expect(try await api.call(.get, "/v1/partners/\(id)/endpoints", token: token).status == .ok)
            #expect(try await api.call(.get, "/v1/partners/\(id)/endpoints", token: plain.token).isProblem(.notFound))
        }
    }
}
