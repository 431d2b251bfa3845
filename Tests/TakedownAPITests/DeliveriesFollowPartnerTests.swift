import Foundation
import HTTPTypes
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("API: deliveries follow the partner")
struct DeliveriesFollowPartnerTests {
    func rows(_ api: API, _ partner: String) async throws -> [[String: Any]] {
        try await api.call(.get, "/v1/deliveries?partner_id=\(partner)")["deliveries"] as? [[String: Any]] ?? []
    }

    @Test("a new webhook_url takes the waiting deliveries along; removing it cancels them with the reason")
    func followAndCancel() async throws {
        try await API.run { api async throws in
            let created = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Moving", "kind": "hosting_provider", "contact_email": "abuse@moving.test",
                    "jurisdiction": "GB", "routing": ["domains": ["moving.test"]],
                    "delivery": ["webhook_url": "https://old.moving.test/in"],
                ])
            let id = try #require(created["id"] as? String)
            _ = try await api.submit(["https://moving.test/1", "https://moving.test/2"])
            #expect(try await rows(api, id).compactMap { $0["endpoint"] as? String } == ["https://old.moving.test/in"])

            let moved = try await api.call(
                .patch, "/v1/partners/\(id)", json: ["delivery": ["webhook_url": "https://new.moving.test/in"]])
            #expect(moved.status == .ok)
            let after = try await rows(api, id)
            #expect(after.map { $0["endpoint"] as? String } == ["https://new.moving.test/in"])
            #expect(after.map { $0["state"] as? String } == ["pending"])

            let removed = try await api.call(.patch, "/v1/partners/\(id)", json: ["delivery": ["webhook_url": ""]])
            #expect(removed.status == .ok)
            let cancelled = try #require(try await rows(api, id).first)
            #expect(cancelled["state"] as? String == "cancelled")
            #expect(cancelled["last_error"] as? String == ChannelChange.cancellation(.webhook))
            let deliveryID = try #require(cancelled["id"] as? String)
            #expect(try await api.call(.post, "/v1/deliveries/\(deliveryID)/retry").isProblem(.conflict))
            let listed = try await api.call(.get, "/v1/deliveries?state=cancelled")
            #expect((listed["deliveries"] as? [[String: Any]])?.count == 1)
        }
    }
}
