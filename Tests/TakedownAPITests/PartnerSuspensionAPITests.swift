import Foundation
import HTTPTypes
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("API: partner suspension")
struct PartnerSuspensionAPITests {
    @Test("a suspended partner's tokens are a 401; staff see why; re-activation lets them in again")
    func suspendAndReactivate() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let second = try await api.call(.post, "/v1/partners/\(partner.id)/tokens", json: ["name": "second"])
            let secondToken = try #require(second["token"] as? String)
            let shown = try await api.call(.get, "/v1/partners/\(partner.id)", token: partner.token)
            #expect(shown["status"] as? String == "active" && shown["suspended_at"] == nil)

            let suspended = try await api.call(
                .post, "/v1/partners/\(partner.id)/suspend", json: ["reason": "  abuse desk unreachable  "])
            #expect(suspended.status == .ok, "\(suspended.text)")
            #expect(suspended["status"] as? String == "suspended")
            #expect(suspended["suspension_reason"] as? String == "abuse desk unreachable")
            #expect(suspended["suspended_at"] as? String == Timestamp.format(api.test.clock.now))
            for token in [partner.token, secondToken] {
                #expect(try await api.call(.get, "/v1/notices", token: token).isProblem(.unauthorized))
                #expect(try await api.call(.get, "/v1/partners/\(partner.id)", token: token).isProblem(.unauthorized))
            }
            let staffView = try await api.call(.get, "/v1/partners/\(partner.id)")
            #expect(staffView["status"] as? String == "suspended")
            #expect(staffView["suspension_reason"] as? String == "abuse desk unreachable")
            let listed = try await api.call(.get, "/v1/partners")
            #expect((listed["partners"] as? [[String: Any]])?.first?["status"] as? String == "suspended")
            // Suspending again keeps the first reason.
            #expect(
                try await api.call(.post, "/v1/partners/\(partner.id)/suspend", json: ["reason": "again"]).isProblem(
                    .conflict))

            api.test.clock.advance(by: 60)
            let back = try await api.call(.post, "/v1/partners/\(partner.id)/reactivate")
            #expect(back.status == .ok, "\(back.text)")
            #expect(back["status"] as? String == "active")
            #expect(back["suspended_at"] == nil && back["suspension_reason"] == nil)
            #expect(try await api.call(.get, "/v1/notices", token: partner.token).status == .ok)
            #expect(try await api.call(.get, "/v1/notices", token: secondToken).status == .ok)
            #expect(try await api.call(.post, "/v1/partners/\(partner.id)/reactivate").isProblem(.conflict))
        }
    }

    @Test("only admins suspend, with a reason, a partner that exists")
    func refused() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let analyst = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Ana"])
            let analystToken = try #require(analyst["token"] as? String)
            let path = "/v1/partners/\(partner.id)/suspend"
            #expect(try await api.call(.post, path, token: analystToken, json: ["reason": "x"]).isProblem(.forbidden))
            #expect(try await api.call(.post, path, token: partner.token, json: ["reason": "x"]).isProblem(.forbidden))
            #expect(try await api.call(.post, path, token: nil, json: ["reason": "x"]).isProblem(.unauthorized))
            #expect(try await api.call(.post, path, json: [:]).invalidFields == ["reason"])
            #expect(try await api.call(.post, path, json: ["reason": "   "]).invalidFields == ["reason"])
            #expect(try await api.call(.post, path).isProblem(.badRequest))
            #expect(
                try await api.call(.post, "/v1/partners/ptn_0000000000000000000000000a/suspend", json: ["reason": "x"])
                    .isProblem(.notFound))
            #expect(
                try await api.call(.post, "/v1/partners/\(partner.id)/reactivate", token: analystToken).isProblem(
                    .forbidden))
            #expect(try await api.call(.get, "/v1/partners/\(partner.id)")["status"] as? String == "active")
        }
    }

    @Test("cases still route to a suspended partner: the notice is issued, staff see it, its delivery waits")
    func noticesStay() async throws {
        try await API.run { api async throws in
            let hooked = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Hooked", "kind": "hosting_provider", "contact_email": "abuse@hooked.test",
                    "jurisdiction": "GB", "routing": ["domains": ["hooked.test"]],
                    "delivery": ["webhook_url": "https://hooks.hooked.test/in"],
                ])
            let id = try #require(hooked["id"] as? String)
            let before = API.firstNotice(try await api.submit(["https://hooked.test/1"]))
            #expect(try await api.call(.post, "/v1/partners/\(id)/suspend", json: ["reason": "x"]).status == .ok)

            let during = API.firstNotice(try await api.submit(["https://hooked.test/2"]))
            #expect(!during.isEmpty)
            #expect(try await api.call(.get, "/v1/notices/\(before)").status == .ok)
            #expect(try await api.call(.get, "/v1/notices/\(during)").status == .ok)
            let deliveries = try await api.call(.get, "/v1/deliveries?partner_id=\(id)")
            let states = (deliveries["deliveries"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
            #expect(states == ["pending", "pending"])
            let claimed = try await api.test.store.claimDeliveries(
                owner: "test", limit: 10, now: api.test.clock.now.addingTimeInterval(3600), lease: 60,
                perEndpointCap: 10)
            #expect(claimed.isEmpty)
        }
    }
}
