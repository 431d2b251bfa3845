import Crypto
import Foundation
import Logging
import TakedownModel
import TakedownServer
import TakedownService
import TakedownSigning
import TakedownTestSupport
import Testing

/// Published versions: signed manifests, byte-stable exports, downloads, feedback, compaction, schedules.
@Suite("Hash list versions")
struct HashListVersionTests {
    typealias Lists = HashListAPITests

    @Test("a version's manifest is signed and describes every export byte for byte")
    func manifestAndExports() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Lists.list(api, partners: [provider.id], types: ["md5", "sha1", "sha256", "pdq"])
            _ = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": (0..<3).map { _ in Lists.entry() }])
            let published = try await api.call(.post, "/v1/hash-lists/\(id)/publish")
            #expect(published.status == .created)
            let unchanged = try await api.call(.post, "/v1/hash-lists/\(id)/publish")
            #expect(unchanged.status == .ok && unchanged.data == published.data)

            let reply = try await api.call(.get, "/v1/hash-lists/\(id)/versions/latest/manifest", token: provider.token)
            let jws = try #require(reply["jws"] as? String)
            let (header, payload) = try JWS.verify(jws, keys: api.test.gateway.jwks)
            #expect(header.alg == "EdDSA")
            let manifest = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            #expect(NSDictionary(dictionary: manifest).isEqual(to: reply["manifest"] as? [String: Any] ?? [:]))
            #expect(manifest["version"] as? Int == 1 && manifest["entry_count"] as? Int == 3)
            #expect(manifest["previous_manifest_sha256"] is NSNull && manifest["list_id"] as? String == id)
            let exports = try #require(manifest["exports"] as? [[String: Any]])
            #expect(
                exports.map { "\($0["format"]!)/\($0["hash"] as? String ?? "-")" }
                    == ["ndjson/-", "csv/-", "text/md5", "text/sha1", "text/sha256", "text/pdq", "vics/-"])
            for export in exports {
                var path = "/v1/hash-lists/\(id)/versions/1/export?format=\(export["format"]!)"
                if let hash = export["hash"] as? String { path += "&hash=\(hash)" }
                let first = try await api.call(.get, path, token: provider.token)
                let second = try await api.call(.get, path, token: provider.token)
                #expect(first.status == .ok && first.data == second.data, "\(path)")
                #expect(Lists.sha256(first.data) == export["sha256"] as? String, "\(path)")
                #expect(first.data.count == export["bytes"] as? Int, "\(path)")
                let tag = try #require(first.headers[.eTag])
                #expect(tag == "\"\(export["sha256"]!)\"")
                let cached = try await api.call(.get, path, token: provider.token, headers: ["If-None-Match": tag])
                #expect(cached.status == .notModified && cached.data.isEmpty)
                let zipped = try await api.call(.get, path, token: provider.token, headers: ["Accept-Encoding": "gzip"])
                #expect(zipped.headers[.contentEncoding] == "gzip" && zipped.headers[.eTag] != tag)
                #expect(zipped.data.prefix(2) == Data([0x1f, 0x8b]))
            }
            let vics = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=vics", token: provider.token)
            #expect((vics["@odata.context"] as? String)?.hasSuffix("$metadata#Media") == true)
            let media = try #require(vics["value"] as? [[String: Any]])
            #expect(media.count == 3 && media.allSatisfy { $0["MD5"] is String && $0["MediaID"] is Int })
            #expect(media.allSatisfy { ($0["AlternativeHashes"] as? [[String: Any]])?.count == 1 })
            let csv = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=csv", token: provider.token)
            #expect(
                csv.text.hasPrefix(
                    "entry_id,media_type,md5,sha1,sha256,pdq,pdq_quality,uk_grade,classification,updated_at\n"))
            let text = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=text&hash=md5", token: provider.token)
            #expect(text.text.split(separator: "\n").allSatisfy { $0.count == 32 && $0 == $0.lowercased() })
            for query in ["format=xml", "format=csv&hash=md5", "format=text&hash=crc", ""] {
                let bad = try await api.call(
                    .get, "/v1/hash-lists/\(id)/versions/1/export?\(query)", token: provider.token)
                #expect(bad.isProblem(.badRequest), "\(query)")
            }
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/versions/2/manifest", token: provider.token)
                    .isProblem(.notFound))

            // The next version chains to this one, and this one's files stay as they were.
            let firstManifest = payload
            let ndjson1 = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=ndjson", token: provider.token)
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Lists.entry()]])
            #expect(try await api.call(.post, "/v1/hash-lists/\(id)/publish").status == .created)
            let second = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/latest/manifest", token: provider.token)
            let chained = (second["manifest"] as? [String: Any])?["previous_manifest_sha256"] as? String
            #expect(chained == Lists.sha256(firstManifest))
            let again = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=ndjson", token: provider.token)
            #expect(again.data == ndjson1.data)
            let versions = try await api.call(.get, "/v1/hash-lists/\(id)/versions", token: provider.token)
            #expect((versions["versions"] as? [[String: Any]])?.map { $0["entry_count"] as? Int } == [3, 4])

            // Every download but the 304s is on record, with who and how much.
            let log = try await api.call(.get, "/v1/hash-lists/\(id)/downloads?limit=1000")
            let rows = try #require(log["downloads"] as? [[String: Any]])
            // Two manifests, each export three times (plain twice, gzip once), VICS, CSV and text once more,
            // version 1's NDJSON twice more.
            let expected = 2 + 21 + 3 + 2
            #expect(rows.count == expected)
            #expect(rows.allSatisfy { $0["partner_id"] as? String == provider.id })
            #expect(rows.first?["format"] as? String == "manifest")
            let gzipped = rows.filter { $0["gzip"] as? Bool == true }
            #expect(gzipped.count == 7 && gzipped.allSatisfy { ($0["bytes"] as? Int ?? 0) > 0 })
        }
    }

    @Test("feedback is reviewed by staff: delete with a reason, or keep")
    func feedback() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Lists.list(api, partners: [provider.id])
            let added = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Lists.entry(), Lists.entry()]])
            let entries = (added["entries"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            var ids: [String] = []
            for (entry, verdict) in [(entries[0], "false_positive"), (entries[1], "confirmed")] {
                let reply = try await api.call(
                    .post, "/v1/hash-lists/\(id)/entries/\(entry)/feedback", token: provider.token,
                    json: ["verdict": verdict, "comment": "checked by the abuse desk"])
                #expect(reply.status == .created && reply["status"] as? String == "open")
                ids.append(reply["id"] as? String ?? "")
            }
            let invalid = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries/\(entries[0])/feedback", token: provider.token,
                json: ["verdict": "maybe"])
            #expect(invalid.invalidFields == ["verdict"])
            let open = try await api.call(.get, "/v1/hash-lists/\(id)/feedback")
            #expect((open["feedback"] as? [[String: Any]])?.count == 2)
            let noReason = try await api.call(
                .post, "/v1/hash-lists/\(id)/feedback/\(ids[0])/resolve", json: ["action": "delete"])
            #expect(noReason.invalidFields == ["reason"])
            let deleted = try await api.call(
                .post, "/v1/hash-lists/\(id)/feedback/\(ids[0])/resolve",
                json: ["action": "delete", "reason": "false_positive", "note": "a logo"])
            #expect(deleted["status"] as? String == "deleted")
            #expect(
                try await api.call(.post, "/v1/hash-lists/\(id)/feedback/\(ids[0])/resolve", json: ["action": "keep"])
                    .isProblem(.conflict))
            let kept = try await api.call(
                .post, "/v1/hash-lists/\(id)/feedback/\(ids[1])/resolve", json: ["action": "keep"])
            #expect(kept["status"] as? String == "kept")
            let feed = Lists.lines(try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: provider.token))
            #expect(feed.last?["op"] as? String == "delete" && feed.last?["reason"] as? String == "false_positive")
            #expect(feed.last?["entry_id"] as? String == entries[0])
            let onDeleted = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries/\(entries[0])/feedback", token: provider.token,
                json: ["verdict": "confirmed"])
            #expect(onDeleted.isProblem(.conflict))
            let mine = try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=all", token: provider.token)
            let seen = mine["feedback"] as? [[String: Any]] ?? []
            #expect(seen.count == 2)
            // The staff's note and name stay with the staff.
            #expect(seen.allSatisfy { $0["note"] == nil && ($0["resolved_by"] as? String) == "hotline" })
            let staffSide = try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=all")
            let resolved = (staffSide["feedback"] as? [[String: Any]] ?? []).first { $0["id"] as? String == ids[0] }
            #expect(resolved?["note"] as? String == "a logo")
            #expect(resolved?["resolved_by"] as? String == "admin:bootstrap")
            // Paged like every list.
            let page = try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=all&limit=1")
            #expect((page["feedback"] as? [[String: Any]])?.count == 1)
            let cursor = page["next_cursor"] as? String ?? ""
            let next = try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=all&limit=1&after=\(cursor)")
            #expect((next["feedback"] as? [[String: Any]])?.first?["id"] as? String == ids[1])
            #expect(try await api.call(.get, "/v1/hash-lists/\(id)/feedback?limit=0").isProblem(.badRequest))
            #expect(try await api.call(.get, "/v1/hash-lists/\(id)/feedback?status=new").isProblem(.badRequest))
            #expect(
                try await api.call(
                    .post, "/v1/hash-lists/\(id)/feedback/\(ids[1])/resolve", token: provider.token,
                    json: ["action": "keep"]
                ).isProblem(.forbidden))
        }
    }

    @Test("tombstones past retention are compacted; a cursor or version before them gets 410")
    func compaction() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Lists.list(api, partners: [provider.id])
            let added = try await api.call(
                .post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Lists.entry(), Lists.entry()]])
            let doomed = ((added["entries"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/publish")
            let early = try await api.call(.get, "/v1/hash-lists/\(id)/changes?limit=1", token: provider.token)
            let staleCursor = try #require(early.headers[.init("Takedown-Next-Cursor")!])
            _ = try await api.call(.delete, "/v1/hash-lists/\(id)/entries/\(doomed)?reason=false_positive")
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/publish")

            let gateway = api.test.gateway
            api.test.clock.advance(by: 89 * 86_400)
            _ = try await gateway.hashListDesk.maintainHashLists()
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/changes?after=\(staleCursor)", token: provider.token)
                    .status == .ok)
            api.test.clock.advance(by: 2 * 86_400)
            _ = try await gateway.hashListDesk.maintainHashLists()

            let gone = try await api.call(
                .get, "/v1/hash-lists/\(id)/changes?after=\(staleCursor)", token: provider.token)
            #expect(gone.isProblem(.gone))
            #expect((gone["detail"] as? String)?.contains("version 2") == true)
            let oldVersion = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/1/export?format=ndjson", token: provider.token)
            #expect(oldVersion.isProblem(.gone))
            // From the start, or from the latest manifest's cursor, the feed still adds up to the latest version.
            let replay = Lists.lines(try await api.call(.get, "/v1/hash-lists/\(id)/changes", token: provider.token))
            #expect(replay.count == 1 && replay.first?["entry_id"] as? String != doomed)
            let latest = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/latest/manifest", token: provider.token)
            let cursor = try #require((latest["manifest"] as? [String: Any])?["feed_cursor"] as? String)
            #expect(
                try await api.call(.get, "/v1/hash-lists/\(id)/changes?after=\(cursor)", token: provider.token).status
                    == .ok)
            let export = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/latest/export?format=ndjson", token: provider.token)
            #expect(Lists.lines(export).map { $0["entry_id"] as? String } == replay.map { $0["entry_id"] as? String })
        }
    }

    @Test("changed lists are published on schedule, once across instances")
    func scheduledPublishing() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let id = try await Lists.list(api, partners: [provider.id])
            let gateway = api.test.gateway
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 0)
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Lists.entry()]])
            // A second instance over the same database runs the same schedule at the same moment.
            let store = try await GatewayComposition.store(api.test.settings)
            var settings = api.test.settings
            settings.bootstrapAdminToken = nil
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let other = try await GatewayComposition.gateway(
                settings, store: store, clock: api.test.clock.function, logger: logger)
            async let mine = gateway.hashListDesk.maintainHashLists()
            async let theirs = other.hashListDesk.maintainHashLists()
            let results = try await [mine.published, theirs.published]
            #expect(results.reduce(0, +) == 1)
            #expect(
                try await gateway.hashListDesk.hashListVersions(
                    HashListID(rawValue: id), for: .admin(.generate(), name: "t")
                ).1
                    .count == 1)
            // Changed again, but within the interval: nothing until an hour has passed.
            _ = try await api.call(.post, "/v1/hash-lists/\(id)/entries", json: ["entries": [Lists.entry()]])
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 0)
            api.test.clock.advance(by: 3_600)
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 1)
            #expect(try await gateway.hashListDesk.maintainHashLists().published == 0)
            let manifest = try await api.call(
                .get, "/v1/hash-lists/\(id)/versions/latest/manifest", token: provider.token)
            #expect((manifest["manifest"] as? [String: Any])?["version"] as? Int == 2)
        }
    }
}
