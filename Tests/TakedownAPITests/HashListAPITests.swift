import Crypto
import Foundation
import TakedownModel
import TakedownSigning
import TakedownTestSupport
import Testing

/// Hash lists through the real router: definition, curation, the feed, versions, exports and isolation.
@Suite("Hash lists API")
struct HashListAPITests {
    /// A provider list (md5, sha256; grades A and B) granted to one provider.
    static func list(
        _ api: API, name: String = "Providers A+B", partners: [String], types: [String] = ["md5", "sha256"]
    ) async throws -> String {
        let reply = try await api.call(
            .post, "/v1/hash-lists",
            json: [
                "name": name, "audience": "hosting_provider", "hash_types": types,
                "include": ["uk_grades": ["A", "B"]], "partners": partners,
            ])
        #expect(reply.status == .created, "\(reply.text)")
        return reply["id"] as? String ?? ""
    }

    static func entry(grade: String = "A", md5: String = Synthetic.hex(32)) -> [String: Any] {
        [
            "media_type": "image", "hashes": ["md5": md5, "sha256": Synthetic.hex(64)],
            "classification": ["uk_grade": grade],
        ]
    }

    static func lines(_ reply: Reply) -> [[String: Any]] {
        reply.text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    @Test("lists are defined by admins and checked field by field")
    func definition() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let police = try await api.partner("Police", domains: [], kind: "law_enforcement")
            let bad = try await api.call(
                .post, "/v1/hash-lists",
                json: [
                    "name": " ", "audience": "everyone", "hash_types": ["md5", "crc32"], "include": ["uk_grades": []],
                    "partners": ["nope"],
                ])
            #expect(bad.isProblem(.unprocessableContent))
            #expect(
                Set(bad.invalidFields)
                    == ["name", "audience", "hash_types[1]", "include.uk_grades", "partners[0]"])
            let wrongKind = try await api.call(
                .post, "/v1/hash-lists",
                json: [
                    "name": "LE", "audience": "hosting_provider", "hash_types": ["md5"],
                    "include": ["uk_grades": ["A"]], "partners": [police.id, "ptn_0000000000000000000000000"],
                ])
            #expect(wrongKind.invalidFields == ["partners[0]", "partners[1]"])
            let analyst = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "A"])
            let denied = try await api.call(
                .post, "/v1/hash-lists", token: analyst["token"] as? String, json: ["name": "x"])
            #expect(denied.isProblem(.forbidden))
            #expect(try await api.call(.post, "/v1/hash-lists", token: provider.token, json: [:]).isProblem(.forbidden))

            let id = try await Self.list(api, partners: [provider.id])
            let taken = try await api.call(
                .post, "/v1/hash-lists",
                json: [
                    "name": "Providers A+B", "audience": "hosting_provider", "hash_types": ["md5"],
                    "include": ["uk_grades": ["A"]],
                ])
            #expect(taken.invalidFields == ["name"])
            let renamed = try await api.call(
                .patch, "/v1/hash-lists/\(id)", json: ["name": "Providers", "hash_types": ["sha1"]])
            #expect(renamed.invalidFields == ["hash_types"])
            let patched = try await api.call(.patch, "/v1/hash-lists/\(id)", json: ["name": "Providers"])
            #expect(patched["name"] as? String == "Providers")
            #expect(patched["tombstone_retention_days"] as? Int == 90)
            #expect(try await api.call(.get, "/v1/hash-lists/\(id)")["name"] as? String == "Providers")
        }
    }

    @Test("a partner without a grant finds nothing; a grantee sees no other grantee")
    func isolation() async throws {
        try await API.run { api in
            let granted = try await api.partner()
            let other = try await api.partner("Other Hosting", domains: ["other.test"])
            let id = try await Self.list(api, partners: [granted.id])
            let added = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Self.entry()]])
            let entry = ((added["entries"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
            #expect(try await api.call(.post, "/v1/hash-lists/\(id)/publish").status == .created)

            let paths = [
                "/v1/hash-lists/\(id)", "/v1/hash-lists/\(id)/changes", "/v1/hash-lists/\(id)/versions",
                "/v1/hash-lists/\(id)/versions/latest/manifest", "/v1/hash-lists/\(id)/versions/1/manifest",
                "/v1/hash-lists/\(id)/versions/latest/export?format=ndjson", "/v1/hash-lists/\(id)/feedback",
            ]
            for path in paths {
                #expect(try await api.call(.get, path, token: other.token).isProblem(.notFound), "\(path)")
                #expect(try await api.call(.get, path, token: granted.token).status == .ok, "\(path)")
            }
            let feedback = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries/\(entry)/feedback", token: other.token,
                json: ["verdict": "false_positive"])
            #expect(feedback.isProblem(.notFound))
            #expect(
                (try await api.call(.get, "/v1/hash-lists", token: other.token)["hash_lists"] as? [Any])?.isEmpty
                    == true)
            let seen =
                try await api.call(.get, "/v1/hash-lists", token: granted.token)["hash_lists"] as? [[String: Any]]
            #expect(seen?.count == 1 && seen?.first?["partners"] == nil)
            #expect(try await api.call(.get, "/v1/hash-lists/\(id)")["partners"] as? [String] == [granted.id])
            // Staff-only routes refuse partners outright.
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/downloads", token: granted.token).isProblem(.forbidden))
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/entries/\(entry)", token: granted.token)
                    .isProblem(.forbidden))
            #expect(
                try await api.call(.post, "/v1/hash-lists/\(id)/publish", token: granted.token).isProblem(.forbidden))
        }
    }

    @Test("issued cases fill the lists whose grades they match; staff curate entries")
    func curation() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Self.list(api, partners: [provider.id])
            #expect(try await api.submit(["https://cdn.example.com/a.jpg"]).status == .created)
            var graded = API.caseBody([API.item("https://cdn.example.com/c.jpg")])
            graded["category"] = ["uk_grade": "C"]
            #expect(try await api.call(.post, "/v1/cases", json: graded).status == .created)
            var feed = Self.lines(try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: provider.token))
            #expect(feed.count == 1)
            #expect(feed.first?["case_id"] == nil && feed.first?["case_reference"] == nil)
            // Upper-case hex from the case arrives lower-case.
            let sha = (feed.first?["hashes"] as? [String: String])?["sha256"] ?? ""
            #expect(sha == sha.lowercased() && sha.count == 64)

            let refused = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries",
                json: [
                    "entries": [
                        Self.entry(grade: "C"),
                        [
                            "media_type": "image", "hashes": ["sha1": Synthetic.hex(40)],
                            "classification": ["uk_grade": "A"],
                        ],
                    ]
                ])
            #expect(refused.invalidFields == ["entries[0].classification.uk_grade", "entries[1].hashes"])
            let added = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Self.entry()]])
            let entry = try #require((added["entries"] as? [[String: Any]])?.first?["id"] as? String)
            let shown = try await api.call(.get, "/v1/hash-lists/\(id)/entries/\(entry)")
            #expect(shown["status"] as? String == "live" && shown["number"] as? Int == 2)
            let fromCase = try await api.call(
                .get, "/v1/hash-lists/\(id)/entries/\(feed[0]["entry_id"] as? String ?? "")")
            #expect((fromCase["case_id"] as? String)?.hasPrefix("case_") == true)

            let reclassified = try await api.call(
                .patch, "/v1/hash-lists/\(id)/entries/\(entry)",
                json: ["classification": ["uk_grade": "B", "classification": "B2"]])
            #expect((reclassified["classification"] as? [String: String]) == ["uk_grade": "B", "classification": "B2"])
            #expect(
                try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entry)?reason=oops").invalidFields == [
                    "reason"
                ])
            let deleted = try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entry)?reason=duplicate")
            #expect(deleted["status"] as? String == "deleted" && deleted["deletion_reason"] as? String == "duplicate")
            #expect(
                try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entry)?reason=legal").isProblem(.conflict))
            #expect(
                try await api.call(
                    .patch, "/v1/hash-lists/\(id)/entries/\(entry)", json: ["classification": ["uk_grade": "A"]]
                ).isProblem(.conflict))
            #expect(
                try await api.call(.delete, "/v1/hash-lists/\(id)/entries/hle_0000000000000000000000000?reason=legal")
                    .isProblem(.notFound))
            feed = Self.lines(try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: provider.token))
            #expect(feed.map { $0["op"] as? String } == ["upsert", "upsert", "upsert", "delete"])
            #expect(feed.map { $0["seq"] as? Int } == [1, 2, 3, 4])
            #expect(feed.last?["reason"] as? String == "duplicate")
            #expect(try await api.call(.get, "/v1/hash-lists/\(id)")["entry_count"] as? Int == 1)
        }
    }

    @Test("the change feed pages by cursor with strong ETags and 304s")
    func feedPaging() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Self.list(api, partners: [provider.id])
            _ = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": (0..<5).map { _ in Self.entry() }])
            var seqs: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/v1/hash-lists/\(id)/changes?limit=2" + (cursor.map { "&after=\($0)" } ?? "")
                let page = try await api.call(.get, path, token: provider.token)
                #expect(page.contentType == "application/x-ndjson")
                seqs += Self.lines(page).compactMap { $0["seq"] as? Int }
                cursor = page.headers[.init("Takedown-Next-Cursor")!]
                pages += 1
                if page.headers[.init("Takedown-Has-More")!] != "true" { break }
                #expect(page.headers[.init("Link")!]?.contains("rel=\"next\"") == true)
            } while pages < 10
            #expect(seqs == [1, 2, 3, 4, 5] && pages == 3)
            // A full page with nothing behind it...
            let full = try await api.call(.get, "/v1/hash-lists/\(id)/changes?limit=5", token: provider.token)
            #expect(full.headers[.init("Takedown-Has-More")!] == "false")
            let fullTag = try #require(full.headers[.eTag])

            let tail = try await api.call(.get, "/v1/hash-lists/\(id)/changes?after=\(cursor!)", token: provider.token)
            #expect(tail.status == .ok && tail.data.isEmpty)
            let etag = try #require(tail.headers[.eTag])
            let again = try await api.call(
                .get, "/v1/hash-lists/\(id)/changes?after=\(cursor!)", token: provider.token,
                headers: ["If-None-Match": etag])
            #expect(again.status == .notModified && again.data.isEmpty)
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Self.entry()]])
            let changed = try await api.call(
                .get, "/v1/hash-lists/\(id)/changes?after=\(cursor!)", token: provider.token,
                headers: ["If-None-Match": etag])
            #expect(changed.status == .ok && Self.lines(changed).count == 1 && changed.headers[.eTag] != etag)
            // ...has the same records once more arrive, but another answer: has more.
            let grown = try await api.call(
                .get, "/v1/hash-lists/\(id)/changes?limit=5", token: provider.token,
                headers: ["If-None-Match": fullTag])
            #expect(grown.status == .ok && grown.headers[.init("Takedown-Has-More")!] == "true")
            #expect(Self.lines(grown).count == 5)
            let revalidated = try await api.call(
                .get, "/v1/hash-lists/\(id)/changes?limit=5", token: provider.token,
                headers: ["If-None-Match": grown.headers[.eTag] ?? ""])
            #expect(revalidated.status == .notModified)
            #expect(revalidated.headers[.init("Takedown-Has-More")!] == "true")
            #expect(
                revalidated.headers[.init("Takedown-Next-Cursor")!] == grown.headers[.init("Takedown-Next-Cursor")!])
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/changes?after=bogus", token: provider.token)
                    .isProblem(.badRequest))
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/changes?limit=0", token: provider.token)
                    .isProblem(.badRequest))
        }
    }
}
