import Foundation
import HTTPTypes
import TakedownTestSupport
import Testing

@Suite("API: partners")
struct PartnerAPITests {
    @Test("an admin creates a partner and gets its token once")
    func create() async throws {
        try await API.run { api async throws in
            let reply = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Example Hosting", "kind": "hosting_provider", "contact_email": "abuse@example.com",
                    "locale": "de", "jurisdiction": "de",
                    "routing": ["domains": ["Example.com"], "ip_ranges": ["192.0.2.0/24"], "asns": [64500]],
                    "delivery": ["email": "notices@example.com"],
                ])
            #expect(reply.status == .created)
            let id = try #require(reply["id"] as? String)
            #expect(id.hasPrefix("ptn_"))
            #expect((reply["token"] as? String)?.hasPrefix("tdk_") == true)
            #expect(reply["jurisdiction"] as? String == "DE")
            #expect((reply["routing"] as? [String: Any])?["domains"] as? [String] == ["example.com"])

            let shown = try await api.call(.get, "/v1/partners/\(id)")
            #expect(shown.status == .ok)
            #expect(shown["token"] == nil)
            #expect(shown["name"] as? String == "Example Hosting")
            let listed = try await api.call(.get, "/v1/partners")
            #expect((listed["partners"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        }
    }

    @Test("every invalid field is listed and nothing is created")
    func invalid() async throws {
        try await API.run { api async throws in
            let reply = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "", "kind": "isp", "contact_email": "nope", "locale": "english", "jurisdiction": "GBR",
                    "routing": ["domains": ["bad_domain"], "ip_ranges": ["300.0.0.0/8"]],
                    "delivery": ["webhook_url": "ftp://x.test/"],
                ])
            #expect(reply.isProblem(.unprocessableContent))
            #expect(
                reply.invalidFields == [
                    "name", "kind", "contact_email", "locale", "jurisdiction", "routing.domains[0]",
                    "routing.ip_ranges[0]",
                    "delivery.webhook_url",
                ])
            let missing = try await api.call(.post, "/v1/partners", json: ["name": "x"])
            #expect(missing.invalidFields == ["kind", "contact_email", "jurisdiction"])
            let wrongType = try await api.call(.post, "/v1/partners", json: ["name": 5])
            #expect(wrongType.isProblem(.badRequest))
            #expect(wrongType.invalidFields == ["name"])
            #expect((try await api.call(.get, "/v1/partners")["partners"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a domain or range belongs to one provider")
    func exclusiveRouting() async throws {
        try await API.run { api async throws in
            _ = try await api.partner("First", domains: ["example.com"], ranges: ["198.51.100.0/24"])
            let reply = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Second", "kind": "hosting_provider", "contact_email": "a@b.test", "jurisdiction": "GB",
                    "routing": ["domains": ["example.com"], "ip_ranges": ["198.51.100.0/24"]],
                ])
            #expect(reply.isProblem(.unprocessableContent))
            #expect(reply.invalidFields == ["routing.domains[0]", "routing.ip_ranges[0]"])
        }
    }

    @Test("PATCH changes the named fields only, and refuses bad ones without change")
    func patch() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let patched = try await api.call(
                .patch, "/v1/partners/\(partner.id)", json: ["locale": "fr", "name": "Renamed"])
            #expect(patched.status == .ok)
            #expect(patched["locale"] as? String == "fr")
            #expect(patched["contact_email"] as? String == "abuse@hosting.test")
            let bad = try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["locale": "!!", "name": "Again"])
            #expect(bad.isProblem(.unprocessableContent))
            #expect(try await api.call(.get, "/v1/partners/\(partner.id)")["name"] as? String == "Renamed")
            #expect(
                try await api.call(.patch, "/v1/partners/ptn_0000000000000000000000000a", json: ["name": "x"])
                    .isProblem(.notFound))
        }
    }

    @Test("a partner sees itself and nobody else; new tokens leave old ones valid")
    func isolationAndTokens() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let b = try await api.partner("B", domains: ["b.test"])
            #expect(try await api.call(.get, "/v1/partners/\(a.id)", token: a.token).status == .ok)
            #expect(try await api.call(.get, "/v1/partners/\(b.id)", token: a.token).isProblem(.notFound))
            #expect(
                try await api.call(.patch, "/v1/partners/\(a.id)", token: a.token, json: ["name": "x"]).isProblem(
                    .forbidden))

            let extra = try await api.call(.post, "/v1/partners/\(a.id)/tokens", json: ["name": "abuse desk bot"])
            #expect(extra.status == .created)
            #expect(extra["partner_id"] as? String == a.id)
            let second = try #require(extra["token"] as? String)
            #expect(second != a.token)
            #expect(try await api.call(.get, "/v1/notices", token: second).status == .ok)
            #expect(try await api.call(.get, "/v1/notices", token: a.token).status == .ok)
            #expect(
                try await api.call(.post, "/v1/partners/\(a.id)/tokens", json: ["name": " "]).invalidFields == ["name"])
            #expect(try await api.call(.post, "/v1/partners/\(a.id)/tokens", token: a.token).status == .created)
            #expect(
                try await api.call(.post, "/v1/partners/ptn_0000000000000000000000000a/tokens").isProblem(.notFound))
        }
    }
}
