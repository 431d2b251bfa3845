import Foundation
import HTTPTypes
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("API: outbox")
struct DeliveryAPITests {
    func hooked(_ api: API, domain: String = "hooked.test") async throws -> (id: String, token: String, secret: String)
    {
        let reply = try await api.call(
            .post, "/v1/partners",
            json: [
                "name": "Hooked", "kind": "hosting_provider", "contact_email": "abuse@\(domain)", "jurisdiction": "GB",
                "routing": ["domains": [domain]], "delivery": ["webhook_url": "https://hooks.\(domain)/takedown"],
            ])
        #expect(reply.status == .created)
        return (reply["id"] as? String ?? "", reply["token"] as? String ?? "", reply["webhook_secret"] as? String ?? "")
    }

    @Test("the webhook secret is shown once at creation, on a new URL and on rotation")
    func secrets() async throws {
        try await API.run { api async throws in
            let partner = try await hooked(api)
            #expect(partner.secret.hasPrefix("whsec_"))
            #expect(Data(base64Encoded: String(partner.secret.dropFirst(6)))?.count == 32)
            #expect(try await api.call(.get, "/v1/partners/\(partner.id)")["webhook_secret"] == nil)
            #expect(
                try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["name": "Renamed"])["webhook_secret"]
                    == nil)
            let moved = try await api.call(
                .patch, "/v1/partners/\(partner.id)", json: ["delivery": ["webhook_url": "https://new.hooked.test/in"]])
            let movedSecret = try #require(moved["webhook_secret"] as? String)
            #expect(movedSecret != partner.secret)
            let rotated = try await api.call(.post, "/v1/partners/\(partner.id)/webhook-secret")
            #expect(rotated.status == .created)
            #expect((rotated["webhook_secret"] as? String)?.hasPrefix("whsec_") == true)
            // The old secret keeps signing for 24 h of the gateway's own clock.
            #expect(
                rotated["previous_valid_until"] as? String
                    == Timestamp.format(api.test.clock.now.addingTimeInterval(86_400)))
            let secrets = try await api.test.store.webhookSecrets(
                partner: .init(rawValue: partner.id), now: api.test.clock.now)
            #expect(secrets == [rotated["webhook_secret"] as? String, movedSecret].compactMap { $0 })

            let plain = try await api.partner("Plain", domains: ["plain.test"])
            #expect(try await api.call(.post, "/v1/partners/\(plain.id)/webhook-secret").isProblem(.conflict))
            // The partner rotates its own secret; not another's, and analysts not at all.
            #expect(
                try await api.call(.post, "/v1/partners/\(partner.id)/webhook-secret", token: partner.token).status
                    == .created)
            #expect(
                try await api.call(.post, "/v1/partners/\(partner.id)/webhook-secret", token: plain.token).isProblem(
                    .notFound))
        }
    }

    @Test("issuing writes one webhook delivery per notice; staff follow it")
    func deliveries() async throws {
        try await API.run { api async throws in
            let partner = try await hooked(api)
            let plain = try await api.partner("Plain", domains: ["plain.test"])
            let reply = try await api.submit(["https://hooked.test/1", "https://plain.test/2"])
            let notices = try #require(reply["notices"] as? [[String: Any]])
            let hookedNotice = try #require(
                notices.first { $0["partner_id"] as? String == partner.id }?["id"] as? String)

            let listed = try await api.call(.get, "/v1/deliveries")
            let rows = try #require(listed["deliveries"] as? [[String: Any]])
            #expect(rows.count == 1)
            let row = rows[0]
            #expect(row["notice_id"] as? String == hookedNotice)
            #expect(row["state"] as? String == "pending")
            #expect(row["event_type"] as? String == "notice.issued")
            #expect(row["endpoint"] as? String == "https://hooks.hooked.test/takedown")
            #expect((row["event_id"] as? String)?.hasPrefix("msg_") == true)
            #expect(row["payload"] == nil)
            let id = try #require(row["id"] as? String)

            let one = try await api.call(.get, "/v1/deliveries/\(id)")
            #expect((one["attempt_log"] as? [Any])?.isEmpty == true)
            #expect(try await api.call(.post, "/v1/deliveries/\(id)/retry").isProblem(.conflict))
            #expect(try await api.call(.get, "/v1/deliveries/dlv_0000000000000000000000000a").isProblem(.notFound))
            // A partner sees its own deliveries, with their attempts, and nobody else's.
            let own = try await api.call(.get, "/v1/deliveries", token: partner.token)
            #expect(
                (own["deliveries"] as? [[String: Any]])?.allSatisfy { $0["partner_id"] as? String == partner.id }
                    == true)
            #expect((own["deliveries"] as? [Any])?.isEmpty == false)
            #expect(try await api.call(.get, "/v1/deliveries/\(id)", token: partner.token).status == .ok)
            #expect(
                try await api.call(.get, "/v1/deliveries?partner_id=\(plain.id)", token: partner.token).isProblem(
                    .notFound))
            #expect(try await api.call(.get, "/v1/deliveries/\(id)", token: plain.token).isProblem(.notFound))
            #expect(try await api.call(.post, "/v1/deliveries/\(id)/retry", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/deliveries?state=lost").invalidFields == ["state"])
            #expect(
                (try await api.call(.get, "/v1/deliveries?partner_id=\(plain.id)")["deliveries"] as? [Any])?.isEmpty
                    == true)
            #expect(
                (try await api.call(.get, "/v1/deliveries?state=pending&notice_id=\(hookedNotice)")["deliveries"]
                    as? [Any])?.count == 1)

            // Withdrawing pushes an event too.
            _ = try await api.call(.post, "/v1/notices/\(hookedNotice)/withdraw", json: ["reason": "issued in error"])
            let after = try await api.call(.get, "/v1/deliveries?notice_id=\(hookedNotice)")
            #expect(
                (after["deliveries"] as? [[String: Any]])?.compactMap { $0["event_type"] as? String } == [
                    "notice.issued", "notice.withdrawn",
                ])
        }
    }

    @Test("recover and resume take a partner and a window")
    func recoverAndResume() async throws {
        try await API.run { api async throws in
            let partner = try await hooked(api)
            #expect(
                (try await api.call(.get, "/v1/partners/\(partner.id)/endpoints")["endpoints"] as? [Any])?.isEmpty
                    == true)
            let path = "/v1/partners/\(partner.id)/endpoints/recover"
            #expect(try await api.call(.post, path, json: ["since": "2026-11-29T00:00:00Z"]).invalidFields == ["until"])
            #expect(
                try await api.call(
                    .post, path, json: ["since": "2026-11-29T10:00:00Z", "until": "2026-11-29T09:00:00Z"]
                ).invalidFields == ["until"])
            let recovered = try await api.call(
                .post, path, json: ["since": "2026-11-29T00:00:00Z", "until": "2026-11-30T00:00:00Z"])
            #expect(recovered["requeued"] as? Int == 0)
            #expect(try await api.call(.post, "/v1/partners/\(partner.id)/endpoints/resume")["resumed"] as? Int == 0)
            #expect(
                try await api.call(.post, "/v1/partners/ptn_0000000000000000000000000a/endpoints/resume").isProblem(
                    .notFound))
        }
    }

    @Test("/metrics speaks Prometheus text with the outbox gauges, to the holder of the metrics token only")
    func metrics() async throws {
        let secret = "metrics-" + String(repeating: "k", count: 24)
        try await API.run(configure: { $0.metricsToken = secret }) { api async throws in
            _ = try await hooked(api)
            _ = try await api.submit(["https://hooked.test/1"])
            #expect(try await api.call(.get, "/metrics", token: nil).isProblem(.unauthorized))
            #expect(try await api.call(.get, "/metrics", token: API.admin).isProblem(.unauthorized))
            #expect(try await api.call(.get, "/metrics", token: secret + "x").isProblem(.unauthorized))
            let reply = try await api.call(.get, "/metrics", token: secret)
            #expect(reply.status == .ok)
            #expect(reply.contentType?.hasPrefix("text/plain") == true)
            #expect(reply.text.contains("takedown_outbox_depth 1"))
            #expect(reply.text.contains("# TYPE takedown_outbox_oldest_due_seconds gauge"))
        }
    }

    @Test("without a metrics token the API port serves no metrics")
    func metricsOff() async throws {
        try await API.run { api async throws in
            #expect(try await api.call(.get, "/metrics", token: nil).isProblem(.notFound))
            #expect(try await api.call(.get, "/metrics", token: API.admin).isProblem(.notFound))
        }
    }
}
