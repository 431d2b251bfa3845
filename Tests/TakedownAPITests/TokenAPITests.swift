import Foundation
import HTTPTypes
import TakedownModel
import TakedownService
import TakedownTestSupport
import Testing

@Suite("API: tokens")
struct TokenAPITests {
    /// The listing's rows, by name.
    func listed(_ api: API, _ query: String = "") async throws -> [String: [String: Any]] {
        let reply = try await api.call(.get, "/v1/tokens\(query)")
        #expect(reply.status == .ok, "\(reply.text)")
        let rows = reply["tokens"] as? [[String: Any]] ?? []
        return Dictionary(rows.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("admins list every token with its role, partner and times, and never its secret or hash")
    func listing() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let analyst = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Ana"])
            let secret = try #require(analyst["token"] as? String)
            #expect(try await api.call(.delete, "/v1/tokens/\(analyst["id"] as? String ?? "")").status == .noContent)

            let reply = try await api.call(.get, "/v1/tokens")
            for forbidden in [secret, partner.token, API.admin, sha256Hex(Data(secret.utf8))] {
                #expect(!reply.text.contains(forbidden))
            }
            let rows = try await listed(api)
            #expect(Set(rows.keys) == ["bootstrap", "Example Hosting (first token)", "Ana"])
            let ana = try #require(rows["Ana"])
            #expect(
                Set(ana.keys) == [
                    "id", "name", "role", "partner_id", "created_at", "last_used_at", "expires_at", "revoked_at",
                ])
            #expect(ana["role"] as? String == "analyst" && ana["partner_id"] is NSNull)
            #expect(ana["revoked_at"] as? String == Timestamp.format(api.test.clock.now))
            #expect(ana["expires_at"] is NSNull && ana["last_used_at"] is NSNull)
            let first = try #require(rows["Example Hosting (first token)"])
            #expect(first["role"] as? String == "partner" && first["partner_id"] as? String == partner.id)
            #expect(rows["bootstrap"]?["last_used_at"] as? String == Timestamp.format(api.test.clock.now))

            let theirs = try await listed(api, "?partner_id=\(partner.id)")
            #expect(Array(theirs.keys) == ["Example Hosting (first token)"])
            // A partner lists its own tokens only; analysts none.
            let own = try await api.call(.get, "/v1/tokens", token: partner.token)
            #expect((own["tokens"] as? [[String: Any]])?.compactMap { $0["partner_id"] as? String } == [partner.id])
            #expect(
                try await api.call(.get, "/v1/tokens?partner_id=ptn_0000000000000000000000000a", token: partner.token)
                    .isProblem(.notFound))
            let reader = try await api.test.gateway.tokenDesk.createStaffToken(role: .analyst, name: "a").secret
            #expect(try await api.call(.get, "/v1/tokens", token: reader).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/tokens", token: secret).isProblem(.unauthorized))
            #expect(try await api.call(.get, "/v1/tokens?partner_id=nope").isProblem(.badRequest))
            #expect(
                try await api.call(.get, "/v1/tokens?partner_id=ptn_0000000000000000000000000a").isProblem(.notFound))
        }
    }

    @Test("the listing pages with a cursor that never skips a token")
    func paging() async throws {
        try await API.run { api async throws in
            for index in 0..<5 {
                _ = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "t\(index)"])
            }
            var names: [String] = []
            var cursor = ""
            for _ in 0..<4 {
                let reply = try await api.call(.get, "/v1/tokens?limit=2\(cursor.isEmpty ? "" : "&after=\(cursor)")")
                names += (reply["tokens"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = try #require(reply["next_cursor"] as? String)
            }
            #expect(names == ["bootstrap", "t0", "t1", "t2", "t3", "t4"])
            #expect(try await api.call(.get, "/v1/tokens?after=%%%").isProblem(.badRequest))
            #expect(try await api.call(.get, "/v1/tokens?limit=0").isProblem(.badRequest))
            #expect(try await api.call(.get, "/v1/tokens?limit=1001").isProblem(.badRequest))
        }
    }

    @Test("a use is recorded at most once a minute")
    func lastUse() async throws {
        try await API.run { api async throws in
            let created = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Ana"])
            let secret = try #require(created["token"] as? String)
            let start = api.test.clock.now
            #expect(try await api.call(.get, "/v1/cases", token: secret).status == .ok)
            api.test.clock.advance(by: 30)
            #expect(try await api.call(.get, "/v1/cases", token: secret).status == .ok)
            #expect(try await listed(api)["Ana"]?["last_used_at"] as? String == Timestamp.format(start))
            api.test.clock.advance(by: 31)
            #expect(try await api.call(.get, "/v1/cases", token: secret).status == .ok)
            #expect(
                try await listed(api)["Ana"]?["last_used_at"] as? String
                    == Timestamp.format(start.addingTimeInterval(61)))
        }
    }

    @Test("a token with an expiry works until then and is a 401 after")
    func expiry() async throws {
        try await API.run { api async throws in
            let expiresAt = Timestamp.format(api.test.clock.now.addingTimeInterval(3600))
            let staff = try await api.call(
                .post, "/v1/tokens", json: ["role": "analyst", "name": "Temp", "expires_at": expiresAt])
            #expect(staff.status == .created, "\(staff.text)")
            #expect(staff["expires_at"] as? String == expiresAt)
            let partner = try await api.partner()
            let partnerToken = try await api.call(
                .post, "/v1/partners/\(partner.id)/tokens", json: ["name": "Temp", "expires_at": expiresAt])
            #expect(partnerToken.status == .created, "\(partnerToken.text)")
            #expect(partnerToken["expires_at"] as? String == expiresAt)
            let staffSecret = try #require(staff["token"] as? String)
            let partnerSecret = try #require(partnerToken["token"] as? String)

            #expect(try await api.call(.get, "/v1/cases", token: staffSecret).status == .ok)
            #expect(try await api.call(.get, "/v1/notices", token: partnerSecret).status == .ok)
            api.test.clock.advance(by: 3600)
            #expect(try await api.call(.get, "/v1/cases", token: staffSecret).isProblem(.unauthorized))
            #expect(try await api.call(.get, "/v1/notices", token: partnerSecret).isProblem(.unauthorized))
            // The partner's first token, without an expiry, still works.
            #expect(try await api.call(.get, "/v1/notices", token: partner.token).status == .ok)
            #expect(try await listed(api)["Temp"]?["expires_at"] as? String == expiresAt)
        }
    }

    @Test(
        "an expiry in the past or not a date is refused",
        arguments: ["2020-01-01T00:00:00Z", "now", "2027-13-01T00:00:00Z"])
    func badExpiry(value: String) async throws {
        try await API.run { api async throws in
            let staff = try await api.call(
                .post, "/v1/tokens", json: ["role": "analyst", "name": "x", "expires_at": value])
            #expect(staff.status == .unprocessableContent || staff.status == .badRequest, "\(staff.text)")
            #expect(staff.invalidFields == ["expires_at"])
            let partner = try await api.partner()
            let token = try await api.call(.post, "/v1/partners/\(partner.id)/tokens", json: ["expires_at": value])
            #expect(token.invalidFields == ["expires_at"])
            #expect(try await listed(api).count == 2)
        }
    }

    @Test("a restart with the bootstrap token set never fails: revoked since, or malformed beside an admin")
    func bootstrapRestart() async throws {
        try await API.run { api async throws in
            let gateway = api.test.gateway
            #expect(try await gateway.tokenDesk.bootstrapAdmin(secret: API.admin) == false)
            #expect(try await gateway.tokenDesk.bootstrapAdmin(secret: "not a token") == false)

            // Another admin revokes the bootstrap token, then revokes itself: no admin is left.
            let other = try await api.call(.post, "/v1/tokens", json: ["role": "admin", "name": "Second"])
            let otherSecret = try #require(other["token"] as? String)
            let bootstrapID = try #require(try await listed(api)["bootstrap"]?["id"] as? String)
            #expect(try await api.call(.delete, "/v1/tokens/\(bootstrapID)", token: otherSecret).status == .noContent)
            #expect(
                try await api.call(.delete, "/v1/tokens/\(other["id"] as? String ?? "")", token: otherSecret).status
                    == .noContent)
            // The revoked secret is not brought back, and the restart goes on.
            #expect(try await gateway.tokenDesk.bootstrapAdmin(secret: API.admin) == false)
            #expect(try await api.call(.get, "/v1/cases").isProblem(.unauthorized))
            // A malformed value with no admin left is refused with the setting's name.
            await #expect(throws: GatewayError.self) { try await gateway.tokenDesk.bootstrapAdmin(secret: "short") }
            // A new secret becomes the first admin.
            let fresh = "tdk_" + Synthetic.hex(40)
            #expect(try await gateway.tokenDesk.bootstrapAdmin(secret: fresh))
            #expect(try await api.call(.get, "/v1/cases", token: fresh).status == .ok)
        }
    }
}
