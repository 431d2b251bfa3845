import Foundation
import HTTPTypes
import TakedownSigning
import TakedownTestSupport
import Testing

@Suite("API: discovery and auth")
struct DiscoveryAndAuthTests {
    @Test("health, readiness and the key set need no token")
    func discovery() async throws {
        try await API.run { api async throws in
            #expect(try await api.call(.get, "/healthz", token: nil)["status"] as? String == "ok")
            let ready = try await api.call(.get, "/readyz", token: nil)
            #expect(ready.status == .ok)
            #expect((ready["checks"] as? [String: String]) == ["store": "ok", "keys": "ok", "templates": "ok"])
            let jwks = try await api.call(.get, "/.well-known/jwks.json", token: nil)
            #expect(jwks.contentType == "application/jwk-set+json")
            let set = try JSONDecoder().decode(JWKSet.self, from: jwks.data)
            #expect(set.keys.count == 1)
            #expect(set.keys[0].crv == "Ed25519")
            let openapi = try await api.call(.get, "/openapi.json", token: nil)
            #expect(openapi.status == .ok)
            #expect(openapi["openapi"] as? String == "3.1.0")
        }
    }

    @Test("unknown routes and wrong methods are problems, never 500")
    func unknownRoutes() async throws {
        try await API.run { api async throws in
            #expect(try await api.call(.get, "/nope").isProblem(.notFound))
            #expect(try await api.call(.get, "/v1/nope").isProblem(.notFound))
            #expect(try await api.call(.delete, "/v1/cases").isProblem(.notFound))
            #expect(try await api.call(.put, "/v1/notices").isProblem(.notFound))
            #expect(try await api.call(.get, "/v1/notices/not-an-id").isProblem(.notFound))
            #expect(try await api.call(.get, "/v1/partners/ptn_00000000000000000000000000").isProblem(.notFound))
        }
    }

    @Test("missing, malformed, unknown and revoked tokens get 401 with a Bearer challenge")
    func unauthorized() async throws {
        try await API.run { api async throws in
            for token in [nil, "", "tdk_unknown", "not-even-ours", String(repeating: "x", count: 500)] as [String?] {
                let reply = try await api.call(.get, "/v1/notices", token: token)
                #expect(reply.isProblem(.unauthorized), "\(token ?? "nil")")
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
            }
            let basic = try await api.call(.get, "/v1/notices", token: nil, headers: ["Authorization": "Basic YTpi"])
            #expect(basic.isProblem(.unauthorized))

            let created = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Ana Lyst"])
            #expect(created.status == .created)
            let analyst = try #require(created["token"] as? String)
            #expect(analyst.hasPrefix("tdk_"))
            #expect(analyst.count >= 4 + 43)
            #expect(try await api.call(.get, "/v1/cases", token: analyst).status == .ok)
            let id = try #require(created["id"] as? String)
            #expect(try await api.call(.delete, "/v1/tokens/\(id)").status == .noContent)
            #expect(try await api.call(.get, "/v1/cases", token: analyst).isProblem(.unauthorized))
            #expect(try await api.call(.delete, "/v1/tokens/\(id)").isProblem(.notFound))
        }
    }

    @Test("roles: partners cannot act as staff, analysts cannot administer")
    func roles() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let analyst =
                try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "a"])["token"] as! String
            #expect(
                try await api.call(.post, "/v1/cases", token: partner.token, json: API.caseBody([])).isProblem(
                    .forbidden))
            #expect(try await api.call(.get, "/v1/cases", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/partners", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.post, "/v1/partners", token: analyst, json: [:]).isProblem(.forbidden))
            #expect(
                try await api.call(.post, "/v1/tokens", token: analyst, json: ["role": "admin", "name": "x"]).isProblem(
                    .forbidden))
            #expect(try await api.call(.get, "/v1/partners", token: analyst).status == .ok)
            let bad = try await api.call(.post, "/v1/tokens", json: ["role": "partner", "name": "x"])
            #expect(bad.isProblem(.unprocessableContent))
            #expect(bad.invalidFields == ["role"])
        }
    }

    @Test("the bootstrap admin is made only on a store without one")
    func bootstrap() async throws {
        try await API.run { api async throws in
            #expect(
                try await api.test.gateway.tokenDesk.bootstrapAdmin(secret: "tdk_another-admin-secret-0123456789abcdef")
                    == false)
            #expect(
                try await api.call(.get, "/v1/partners", token: "tdk_another-admin-secret-0123456789abcdef").isProblem(
                    .unauthorized))
        }
    }
}
