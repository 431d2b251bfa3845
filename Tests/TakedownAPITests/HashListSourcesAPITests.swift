import Foundation
import HTTPTypes
import TakedownDocuments
import TakedownTestSupport
import Testing

/// Feedback through the NCMEC dialect, and the sources a list imports from, through the real router.
@Suite("NCMEC feedback and hash-list sources API")
struct HashListSourcesAPITests {
    static let ns = NCMECDialect.namespace
    static let affirmative = "<feedbackSubmission xmlns=\"\(ns)\"><affirmative/></feedbackSubmission>"
    static let negative =
        "<feedbackSubmission xmlns=\"\(ns)\"><negative><reasonIds><guid>6f1d7a52-3c0e-4b8e-9a4f-2d7c5e1b9f03"
        + "</guid></reasonIds></negative></feedbackSubmission>"

    static func put(
        _ api: API, _ path: String, _ xml: String, as partner: API.CreatedPartner,
        type: String =
            "application/xml; charset=utf-8"
    ) async throws -> Reply {
        var headers = NCMECAPITests.basic(partner.id, partner.token)
        headers["Content-Type"] = type
        return try await api.call(.put, path, token: nil, raw: xml, headers: headers)
    }

    @Test("affirmative and negative feedback land in the list's feedback; anything else is refused and changes nothing")
    func feedback() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let other = try await api.partner("Other Hosting", domains: ["other.test"])
            let id = try await HashListAPITests.list(api, partners: [provider.id])
            let added = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": (0..<3).map { _ in HashListAPITests.entry() }])
            let entries = try #require(added["entries"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            let member = NCMECDialect.memberNumber(for: "issuer:Example Hotline")
            let base = "/v1/hash-lists/\(id)/ncmec/v2"
            func path(_ entry: String, _ type: String = "MD5", member: Int64 = member) -> String {
                "\(base)/entries/\(member)/\(entry)/\(type)/feedback"
            }
            let reasons = try await NCMECAPITests.get(api, "\(base)/feedback/MD5/reasons", as: provider)
            #expect(reasons.text.contains(#"guid="6f1d7a52-3c0e-4b8e-9a4f-2d7c5e1b9f03""#))

            #expect(try await Self.put(api, path(entries[0]), Self.affirmative, as: provider).status == .noContent)
            #expect(try await Self.put(api, path(entries[1], "SHA1"), Self.negative, as: provider).status == .noContent)

            let refused: [(String, String, String, HTTPResponse.Status)] = [
                (
                    path(entries[2]), Self.negative.replacingOccurrences(of: "6f1d7a52", with: "00000000"),
                    "application/xml", .badRequest
                ),
                (
                    path(entries[2]), "<feedbackSubmission xmlns=\"\(Self.ns)\"><negative/></feedbackSubmission>",
                    "application/xml", .badRequest
                ),
                (path(entries[2]), Self.affirmative, "application/json", .unsupportedMediaType),
                (path(entries[2]), "<feedbackSubmission><affirmative/></feedbackSubmission>", "text/xml", .badRequest),
                (
                    path(entries[2]),
                    "<!DOCTYPE f [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><feedbackSubmission xmlns=\"\(Self.ns)\">"
                        + "<affirmative>&x;</affirmative></feedbackSubmission>", "application/xml", .badRequest
                ),
                (path(entries[2]), String(repeating: "<a>", count: 40_000), "application/xml", .contentTooLarge),
                (path(entries[2]), "", "application/xml", .badRequest),
                (path(entries[2], member: member + 1), Self.affirmative, "application/xml", .notFound),
                (path(entries[2], "CRC32"), Self.affirmative, "application/xml", .notFound),
                (path("hle_nothere"), Self.affirmative, "application/xml", .notFound),
            ]
            for (target, body, type, status) in refused {
                let reply = try await Self.put(api, target, body, as: provider, type: type)
                #expect(reply.isProblem(status), "\(target) \(body.prefix(60)): \(reply.status) \(reply.text)")
            }
            // Another partner does not see the list at all.
            #expect(try await Self.put(api, path(entries[2]), Self.affirmative, as: other).isProblem(.notFound))
            // A deleted entry takes no feedback.
            _ = try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entries[2])?reason=duplicate")
            #expect(try await Self.put(api, path(entries[2]), Self.affirmative, as: provider).isProblem(.conflict))

            let listed = try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=all")
            let feedback = try #require(listed["feedback"] as? [[String: Any]])
            #expect(feedback.count == 2)
            #expect(feedback.map { $0["entry_id"] as? String } == [entries[0], entries[1]])
            #expect(feedback.map { $0["verdict"] as? String } == ["confirmed", "false_positive"])
            #expect(feedback.allSatisfy { $0["partner_id"] as? String == provider.id })
            #expect((feedback[1]["comment"] as? String)?.contains("SHA1") == true)
        }
    }

    @Test("admins add sources (the password never shown), staff follow them and ask for a pull, partners cannot")
    func sources() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await HashListAPITests.list(api, partners: [provider.id])
            let otherList = try await HashListAPITests.list(api, name: "Other list", partners: [])
            let body: [String: Any] = [
                "name": "Peer hotline", "base_url": "https://peer.example.com/v1/hash-lists/hl_x/ncmec/",
                "username": "ptn_us", "password": "s3cret-password", "uk_grade": "A",
            ]
            let created = try await api.call(.post, "/v1/hash-lists/\(id)/sources", json: body)
            #expect(created.status == .created, "\(created.text)")
            #expect(!created.text.contains("s3cret"))
            let source = try #require(created["id"] as? String)
            #expect(created["base_url"] as? String == "https://peer.example.com/v1/hash-lists/hl_x/ncmec")
            #expect(created["status"] as? String == "due" && created["interval_seconds"] as? Int == 3600)
            #expect(created["overlap_seconds"] as? Int == 300)

            let invalid: [([String: Any], String)] = [
                (["base_url": "ftp://peer.example.com"], "base_url"),
                (["base_url": "https://user:pw@peer.example.com"], "base_url"),
                (["base_url": "https://peer.example.com/x?y=1"], "base_url"),
                (["uk_grade": "C"], "uk_grade"), (["uk_grade": "Z"], "uk_grade"),
                (["interval_seconds": 5], "interval_seconds"), (["overlap_seconds": -1], "overlap_seconds"),
                (["username": "a:b"], "username"), (["password": ""], "password"),
            ]
            for (change, field) in invalid {
                let reply = try await api.call(
                    .post, "/v1/hash-lists/\(id)/sources", json: body.merging(change) { $1 })
                #expect(reply.isProblem(.unprocessableContent) && reply.invalidFields == [field], "\(change)")
            }
            let analyst = try #require(
                try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Ana"])["token"] as? String)
            #expect(
                try await api.call(.post, "/v1/hash-lists/\(id)/sources", token: analyst, json: body)
                    .isProblem(.forbidden))
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/sources", token: provider.token).isProblem(.forbidden))

            let listed = try await api.call(.get, "/v1/hash-lists/\(id)/sources", token: analyst)
            let sources = try #require(listed["sources"] as? [[String: Any]])
            #expect(sources.map { $0["id"] as? String } == [source] && !listed.text.contains("s3cret"))
            #expect(
                (try await api.call(.get, "/v1/hash-lists/\(otherList)/sources")["sources"] as? [Any])?.isEmpty == true)

            api.test.clock.advance(by: 60)
            let pulled = try await api.call(.post, "/v1/hash-lists/\(id)/sources/\(source)/pull", token: analyst)
            #expect(pulled.status == .accepted && pulled["status"] as? String == "due")
            #expect(
                pulled["next_pull_at"] as? String
                    == NCMECDialect.timestamp(api.test.clock.now).replacingOccurrences(
                        of: "Z", with: ".000Z"))
            for path in [
                "/v1/hash-lists/\(otherList)/sources/\(source)", "/v1/hash-lists/\(id)/sources/src_nothere",
                "/v1/hash-lists/\(id)/sources/nonsense",
            ] {
                #expect(try await api.call(.get, path).isProblem(.notFound), "\(path)")
                #expect(try await api.call(.post, path + "/pull").isProblem(.notFound), "\(path)")
            }
            // The store gives the password back to the importer (sealed at rest like webhook secrets).
            let stored = try await api.test.store.hashListSource(.init(rawValue: source))
            #expect(stored?.password == "s3cret-password")
        }
    }
}
