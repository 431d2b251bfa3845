import Foundation
import TakedownDocuments
import TakedownTestSupport
import Testing

/// A hash list in NCMEC's hash-sharing dialect through the real router: Basic sign-in, isolation, the
/// time-window paging the client follows, tombstones and updates, and the download log.
@Suite("NCMEC hash-sharing API")
struct NCMECAPITests {
    static let validator = try! XMLSchemaValidator(
        contentsOf: Repository.schemas.appendingPathComponent("ncmec-hashsharing-v2.xsd"))

    static func basic(_ user: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// Calls a dialect route as `partner` with Basic credentials; checks the XML against the schema.
    static func get(_ api: API, _ path: String, as partner: API.CreatedPartner) async throws -> Reply {
        let reply = try await api.call(.get, path, token: nil, headers: basic(partner.id, partner.token))
        if reply.status == .ok {
            #expect(reply.contentType == "application/xml; charset=utf-8")
            #expect(validator.problems(in: Array(reply.data)) == [], "\(reply.text)")
        }
        return reply
    }

    /// The `<id>` values of a page, and its `next` link unescaped.
    static func ids(_ reply: Reply) -> (ids: [String], next: String?) {
        let ids = reply.text.components(separatedBy: "<id>").dropFirst().compactMap {
            $0.components(separatedBy: "</id>").first
        }
        let next = reply.text.components(separatedBy: "<next>").dropFirst().first?
            .components(separatedBy: "</next>").first?.replacingOccurrences(of: "&amp;", with: "&")
        return (ids, next)
    }

    @Test("partners sign in with their id and token; anyone else gets a Basic challenge, other lists are 404")
    func signIn() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let other = try await api.partner("Other Hosting", domains: ["other.test"])
            let id = try await HashListAPITests.list(api, partners: [provider.id])
            let base = "/v1/hash-lists/\(id)/ncmec/v2"
            let status = try await Self.get(api, "\(base)/status", as: provider)
            #expect(status.status == .ok)
            #expect(status.text.contains("<username>\(provider.id)</username>"))
            let number = NCMECDialect.memberNumber(for: provider.id)
            #expect(status.text.contains(#"<member id="\#(number)">Example Hosting</member>"#))

            for headers in [
                Self.basic(provider.id, "tdk_wrong"), Self.basic(other.id, provider.token),
                ["Authorization": "Basic !!"],
                Self.basic(provider.id, ""), [:],
            ] {
                let refused = try await api.call(.get, "\(base)/status", token: nil, headers: headers)
                #expect(refused.isProblem(.unauthorized))
                #expect(refused.headers[.wwwAuthenticate] == #"Basic realm="hash sharing", charset="UTF-8""#)
            }
            // Basic is taken only under a dialect base URL.
            let elsewhere = try await api.call(
                .get, "/v1/hash-lists/\(id)", token: nil, headers: Self.basic(provider.id, provider.token))
            #expect(elsewhere.isProblem(.unauthorized) && elsewhere.headers[.wwwAuthenticate] == "Bearer")
            // A bearer token works too; another partner's list does not exist for it.
            #expect(try await api.call(.get, "\(base)/members", token: provider.token).status == .ok)
            #expect(try await Self.get(api, "\(base)/status", as: other).isProblem(.notFound))
            #expect(try await Self.get(api, "\(base)/entries", as: other).isProblem(.notFound))
            let members = try await Self.get(api, "\(base)/members", as: provider)
            #expect(
                members.text.contains(#"<member id="\#(NCMECDialect.memberNumber(for: "issuer:Example Hotline"))">"#))
            #expect(try await Self.get(api, "\(base)/feedback/MD5/reasons", as: provider).status == .ok)
            #expect(try await Self.get(api, "\(base)/feedback/CRC32/reasons", as: provider).isProblem(.notFound))
        }
    }

    @Test("a window pages by its next links to every change in it; a later window shows tombstones and updates")
    func windows() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await HashListAPITests.list(api, partners: [provider.id])
            let base = "/v1/hash-lists/\(id)/ncmec"
            let added = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": (0..<5).map { _ in HashListAPITests.entry() }])
            let entries = try #require(added["entries"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(entries.count == 5)
            let first = NCMECDialect.timestamp(api.test.clock.now)

            // Five changes in pages of two: the client follows `next`, appended to the base URL.
            var path = "\(base)/v2/entries?from=\(first)&size=2"
            var seen: [String] = []
            var pages = 0
            while true {
                let reply = try await Self.get(api, path, as: provider)
                #expect(reply.status == .ok, "\(reply.text)")
                let (ids, next) = Self.ids(reply)
                seen += ids
                pages += 1
                guard let next, pages < 10 else { break }
                #expect(next.hasPrefix("/v2/entries?from=") && next.contains("%3A") && next.contains("&max=5"))
                path = base + next
            }
            #expect(seen == entries && pages == 3)

            // Later: one reclassified, one deleted; a window from then on holds just those two changes.
            api.test.clock.advance(by: 3600)
            let later = NCMECDialect.timestamp(api.test.clock.now)
            _ = try await api.call(
                .patch, "/v1/hash-lists/\(id)/entries/\(entries[1])",
                json: ["classification": ["uk_grade": "A", "classification": "A2"]])
            _ = try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entries[2])?reason=false_positive")
            let window = try await Self.get(api, "\(base)/v2/entries?from=\(later)", as: provider)
            #expect(Self.ids(window).ids == [entries[1], entries[2]] && Self.ids(window).next == nil)
            #expect(window.text.contains("<classification>A2</classification>"))
            #expect(window.text.contains("<deletedImage>") && window.text.contains(#"<images count="2""#))
            // The earlier window is unchanged by the later changes.
            let earlier = try await Self.get(api, "\(base)/v2/entries?from=\(first)&to=\(first)", as: provider)
            #expect(Self.ids(earlier).ids == entries)

            // Each page is noted just after it is sent: the last one may take a moment.
            var rows: [[String: Any]] = []
            for _ in 0..<100 {
                let log = try await api.call(.get, "/v1/hash-lists/\(id)/downloads?limit=1000")
                rows = try #require(log["downloads"] as? [[String: Any]])
                if rows.filter({ $0["format"] as? String == "ncmec" }).count >= 5 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(rows.filter { $0["format"] as? String == "ncmec" }.count == 5)
            #expect(rows.allSatisfy { $0["partner_id"] as? String == provider.id && ($0["bytes"] as? Int ?? 0) > 0 })
        }
    }

    @Test(
        "malformed window parameters are 400 problems and change nothing",
        arguments: [
            "from=yesterday", "to=2027-13-45T00:00:00Z", "size=0", "size=1001", "start=-1", "max=x", "start=1e3",
            "from=2027-01-15T09:00:00Z&to=2027-01-15T08:00:00Z", "size=99999999999999999999",
        ])
    func badParameters(_ query: String) async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await HashListAPITests.list(api, partners: [provider.id])
            let reply = try await Self.get(api, "/v1/hash-lists/\(id)/ncmec/v2/entries?\(query)", as: provider)
            #expect(reply.isProblem(.badRequest), "\(query): \(reply.text)")
            let log = try await api.call(.get, "/v1/hash-lists/\(id)/downloads")
            #expect((log["downloads"] as? [Any])?.isEmpty == true)
        }
    }
}
