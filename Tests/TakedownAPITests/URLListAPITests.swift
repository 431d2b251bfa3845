import Crypto
import Foundation
import Hummingbird
import Synchronization
import TakedownModel
import TakedownOutbox
import TakedownService
import TakedownTestSupport
import Testing

/// URL lists through the real router: confirmed URLs still live, for partners who block or filter. A URL
/// joins when its notice is issued and leaves when verification finds it gone; staff add and remove by hand.
@Suite("URL lists")
struct URLListAPITests {
    typealias Lists = HashListAPITests

    /// The bytes the loopback host serves for the reported URL until it takes them down.
    static let served = Data("synthetic page bytes, not an image".utf8)

    /// A loopback host serving `/item` (the reported bytes, or 404 once `gone`).
    final class Host: Sendable {
        let gone = Mutex(false)

        func run(_ body: @escaping @Sendable (_ base: String) async throws -> Void) async throws {
            let router = Router()
            router.get("item") { _, _ -> Response in
                if self.gone.withLock({ $0 }) { return Response(status: .notFound) }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: URLListAPITests.served)))
            }
            try await LoopbackServer.run({ running in
                Application(
                    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: running)
            }) { port in try await body("http://127.0.0.1:\(port)") }
        }
    }

    static func urlList(_ api: API, partners: [String], grades: [String] = ["A", "B"]) async throws -> String {
        let reply = try await api.call(
            .post, "/v1/hash-lists",
            json: [
                "name": "Block list \(Synthetic.hex(4))", "kind": "urls", "audience": "hosting_provider",
                "include": ["uk_grades": grades], "partners": partners,
            ])
        #expect(reply.status == .created, "\(reply.text)")
        #expect(reply["kind"] as? String == "urls" && (reply["hash_types"] as? [String]) == [])
        return reply["id"] as? String ?? ""
    }

    /// Each URL in the feed with its latest change: `live` or the reason it left.
    static func standing(_ api: API, _ id: String, token: String) async throws -> [String: String] {
        let feed = try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: token)
        #expect(feed.status == .ok, "\(feed.text)")
        var latest: [String: String] = [:]
        for line in Lists.lines(feed) {
            let url = try #require(line["url"] as? String)
            #expect((line["hashes"] as? [String: Any])?.isEmpty == true)
            latest[url] = line["op"] as? String == "upsert" ? "live" : (line["reason"] as? String ?? "?")
        }
        return latest
    }

    @Test("an issued notice's URL joins the list and leaves it once verification finds it gone")
    func joinsAndLeaves() async throws {
        try await API.run(configure: { $0.verification.interval = 6 * 3_600 }) { api in
            let host = Host()
            try await host.run { base in
                let provider = try await api.partner("Loopback Hosting", domains: [], ranges: ["127.0.0.1/32"])
                let isp = try await api.partner("Filtering ISP", domains: ["isp.test"])
                let id = try await Self.urlList(api, partners: [isp.id])
                let url = base + "/item"
                var item = API.item(url)
                item["hashes"] = [
                    "md5": Insecure.MD5.hash(data: Self.served).map { String(format: "%02x", $0) }.joined(),
                    "sha256": SHA256.hash(data: Self.served).map { String(format: "%02x", $0) }.joined(),
                ]
                let receipt = try await api.call(.post, "/v1/cases", json: API.caseBody([item]))
                #expect(receipt.status == .created, "\(receipt.text)")
                let noticeID = API.firstNotice(receipt)
                #expect(!noticeID.isEmpty)
                #expect(try await Self.standing(api, id, token: isp.token) == [url: "live"])
                // The provider the notice went to is not granted the list, so it does not exist for it.
                #expect(
                    try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: provider.token)
                        .isProblem(.notFound))

                // The URL list's version: signed manifest of kind urls, with NDJSON, CSV and a text file of URLs.
                #expect(try await api.call(.post, "/v1/hash-lists/\(id)/publish").status == .created)
                let manifest = try await api.call(
                    .get, "/v1/hash-lists/\(id)/versions/latest/manifest", token: isp.token)
                let body = try #require(manifest["manifest"] as? [String: Any])
                #expect(body["kind"] as? String == "urls" && body["entry_count"] as? Int == 1)
                let exports = try #require(body["exports"] as? [[String: Any]])
                #expect(exports.map { $0["format"] as? String } == ["ndjson", "csv", "text"])
                let text = try await api.call(
                    .get, "/v1/hash-lists/\(id)/versions/1/export?format=text", token: isp.token)
                #expect(text.text == url + "\n")
                #expect(Lists.sha256(text.data) == exports[2]["sha256"] as? String)
                let csv = try await api.call(
                    .get, "/v1/hash-lists/\(id)/versions/1/export?format=csv", token: isp.token)
                let rows = csv.text.split(separator: "\n")
                #expect(rows.first == "entry_id,url,media_type,uk_grade,classification,updated_at")
                #expect(rows.count == 2 && rows[1].contains(",\(url),image,A,A1,"))
                #expect(
                    try await api.call(
                        .get, "/v1/hash-lists/\(id)/versions/1/export?format=text&hash=md5", token: isp.token
                    ).isProblem(.badRequest))

                // Still served at the first scheduled check: it stays.
                var configuration = api.test.settings.verification
                configuration.allowedTargets = [IPRange("127.0.0.1/32")!]
                configuration.timeout = 5
                let worker = VerificationWorker(
                    store: api.test.store, configuration: configuration, clock: api.test.clock.function)
                api.test.clock.advance(by: 6 * 3_600)
                #expect(try await worker.runRound() == 1)
                #expect(try await Self.standing(api, id, token: isp.token) == [url: "live"])

                // The host takes it down: the next check finds it gone and it leaves, with the reason.
                host.gone.withLock { $0 = true }
                api.test.clock.advance(by: 6 * 3_600)
                #expect(try await worker.runRound() == 1)
                #expect(try await Self.standing(api, id, token: isp.token) == [url: "gone"])
                let notice = try await api.call(.get, "/v1/notices/\(noticeID)")
                #expect((notice["items"] as? [[String: Any]])?.first?["verified_at"] is String)
                #expect(try await api.call(.post, "/v1/hash-lists/\(id)/publish").status == .created)
                let second = try await api.call(
                    .get, "/v1/hash-lists/\(id)/versions/2/export?format=text", token: isp.token)
                #expect(second.status == .ok && second.text.isEmpty)
                try await worker.shutdown()
            }
        }
    }

    @Test("staff add and remove URLs by hand; a held case's URLs join only at release; bad input changes nothing")
    func curationAndRules() async throws {
        try await API.run { api in
            let (provider, police, _) = try await PoliceHoldTests.rig(api)
            let isp = try await api.partner("Filtering ISP", domains: ["isp.test"])
            let id = try await Self.urlList(api, partners: [isp.id])

            // By hand: a URL is normalised and goes on; removed with a reason, it leaves a tombstone.
            let added = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries",
                json: [
                    "entries": [
                        [
                            "url": "HTTPS://Mirror.Example.com/a.jpg", "media_type": "image",
                            "classification": ["uk_grade": "B"],
                        ]
                    ]
                ])
            #expect(added.status == .created, "\(added.text)")
            let entry = try #require((added["entries"] as? [[String: Any]])?.first)
            #expect(entry["url"] as? String == "https://mirror.example.com/a.jpg")
            let entryID = try #require(entry["id"] as? String)
            let removed = try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(entryID)?reason=gone")
            #expect(removed.status == .ok && removed["deletion_reason"] as? String == "gone", "\(removed.text)")
            #expect(
                try await Self.standing(api, id, token: isp.token) == ["https://mirror.example.com/a.jpg": "gone"])

            // A held case's URL is not on the list (it would tell the host) until the police release it.
            var body = API.caseBody([API.item("https://held.test/x.jpg")])
            body["police_hold"] = ["partner_id": police.id, "reason": "covert investigation"]
            let receipt = try await api.call(.post, "/v1/cases", json: body)
            #expect(receipt.status == .created, "\(receipt.text)")
            let hold = try #require((receipt["hold"] as? [String: Any])?["id"] as? String)
            #expect(try await Self.standing(api, id, token: isp.token)["https://held.test/x.jpg"] == nil)
            let released = try await api.call(.post, "/v1/holds/\(hold)/release", token: police.token)
            #expect(released.status == .ok, "\(released.text)")
            #expect(try await Self.standing(api, id, token: isp.token)["https://held.test/x.jpg"] == "live")

            // A withdrawn notice's URL leaves as withdrawn.
            let noticeID = try #require((released["notice_ids"] as? [String])?.first)
            let withdrawn = try await api.call(
                .post, "/v1/notices/\(noticeID)/withdraw", json: ["reason": "sent in error"])
            #expect(withdrawn.status == .ok, "\(withdrawn.text)")
            #expect(try await Self.standing(api, id, token: isp.token)["https://held.test/x.jpg"] == "withdrawn")
            _ = provider

            // Refused, field by field, and nothing changes.
            let before = try await api.call(.get, "/v1/hash-lists/\(id)")
            for (entry, field) in [
                (["url": "ftp://example.com/a", "media_type": "image", "classification": ["uk_grade": "A"]], "url"),
                (["media_type": "image", "classification": ["uk_grade": "A"]], "url"),
                (
                    [
                        "url": "https://example.com/a", "media_type": "image", "classification": ["uk_grade": "A"],
                        "hashes": ["md5": Synthetic.hex(32)],
                    ], "hashes"
                ),
                (
                    ["url": "https://example.com/a", "media_type": "image", "classification": ["uk_grade": "C"]],
                    "uk_grade"
                ),
            ] as [([String: Any], String)] {
                let reply = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [entry]])
                #expect(reply.isProblem(.unprocessableContent), "\(reply.text)")
                #expect(reply.invalidFields.contains { $0.hasSuffix(field) }, "\(reply.invalidFields)")
            }
            let after = try await api.call(.get, "/v1/hash-lists/\(id)")
            #expect(after["last_seq"] as? Int == before["last_seq"] as? Int)
            let files = try await Lists.list(api, name: "Files", partners: [])
            let urlOnFileList = try await api.call(
                .post, "/v1/hash-lists/\(files)/entries",
                json: ["entries": [Lists.entry().merging(["url": "https://example.com/a"]) { $1 }]])
            #expect(urlOnFileList.isProblem(.unprocessableContent) && urlOnFileList.invalidFields == ["entries[0].url"])
            for (list, field) in [
                (["name": "x", "kind": "urls", "audience": "hosting_provider", "hash_types": ["md5"]], "hash_types"),
                (["name": "x", "kind": "links", "audience": "hosting_provider", "hash_types": ["md5"]], "kind"),
            ] as [([String: Any], String)] {
                var input = list
                input["include"] = ["uk_grades": ["A"]]
                let reply = try await api.call(.post, "/v1/hash-lists", json: input)
                #expect(reply.isProblem(.unprocessableContent) && reply.invalidFields == [field], "\(reply.text)")
            }
            let patch = try await api.call(.patch, "/v1/hash-lists/\(id)", json: ["kind": "hashes"])
            #expect(patch.isProblem(.unprocessableContent) && patch.invalidFields == ["kind"])
            // What only file lists have: sources and the NCMEC dialect.
            let source = try await api.call(
                .post, "/v1/hash-lists/\(id)/sources",
                json: ["name": "Peer", "kind": "ncmec", "base_url": "https://peer.test/api"])
            #expect(source.isProblem(.conflict), "\(source.text)")
            let ncmec = try await NCMECAPITests.get(
                api, "/v1/hash-lists/\(id)/ncmec/v2/entries?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", as: isp)
            #expect(ncmec.status == .conflict, "\(ncmec.text)")
        }
    }

    @Test("URL lists are published twice a day by default, file lists hourly")
    func twiceADay() async throws {
        try await API.run { api in
            _ = try await api.partner()
            let isp = try await api.partner("Filtering ISP", domains: ["isp.test"])
            let id = try await Self.urlList(api, partners: [isp.id])
            let gateway = api.test.gateway
            _ = try await api.submit(["https://example.com/one.jpg"])
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 1)
            _ = try await api.submit(["https://example.com/two.jpg"])
            api.test.clock.advance(by: 3_600)
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 0)
            api.test.clock.advance(by: 11 * 3_600)
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 1)
            let versions = try await api.call(.get, "/v1/hash-lists/\(id)/versions", token: isp.token)
            #expect((versions["versions"] as? [[String: Any]])?.map { $0["entry_count"] as? Int } == [1, 2])
        }
    }
}
