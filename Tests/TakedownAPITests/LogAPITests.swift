import Crypto
import Foundation
import HTTPTypes
import TakedownService
import TakedownSigning
import TakedownTestSupport
import Testing

@Suite("API: the tamper-evident log")
struct LogAPITests {
    @Test("a notice's proofs verify against a checkpoint signed by the published key, and only its partner reads them")
    func noticeProofs() async throws {
        try await API.run { api async throws in
            let owner = try await api.partner(domains: ["owner.test"])
            let other = try await api.partner("Other Hosting", domains: ["other.test"])
            let notice = API.firstNotice(try await api.submit(["https://cdn.owner.test/a.jpg"]))
            #expect(
                try await api.call(.post, "/v1/notices/\(notice)/acknowledge", token: owner.token, json: [:]).status
                    == .ok)
            let key = try await api.call(.get, "/.well-known/takedown-log-key", token: nil)
            let verifier = try LogVerifier(verifierKey: key.text)
            let reply = try await api.call(.get, "/v1/notices/\(notice)/proof", token: owner.token)
            #expect(reply.status == .ok, "\(reply.text)")
            let proofs = try JSONDecoder().decode(LogVerifier.Proofs.self, from: reply.data)
            let (checkpoint, entries) = try verifier.included(proofs)
            // Issued, its first read by the provider, its acknowledgement.
            #expect(
                entries.map { $0.fields["kind"] } == ["notice.issued", "notice.event", "notice.event", "notice.event"])
            #expect(entries.map { $0.fields["event"] } == [nil, "issued", "delivered", "acknowledged"])
            #expect(checkpoint.size >= 3)
            // Another partner learns nothing, not even that the notice exists.
            #expect(try await api.call(.get, "/v1/notices/\(notice)/proof", token: other.token).isProblem(.notFound))
            // The notice as its partner sees it matches the log; a tampered timeline does not.
            let shown = try await api.call(.get, "/v1/notices/\(notice)", token: owner.token)
            let jws = try #require(shown["jws"] as? String)
            var steps = try JSONDecoder().decode(Shown.self, from: shown.data).timeline
            #expect(try LogVerifier.matchNotice(jws: jws, id: notice, timeline: steps, entries).count == 4)
            steps[1].at = "2026-01-01T00:00:00.000Z"
            #expect(throws: LogVerifier.Failure.self) {
                try LogVerifier.matchNotice(jws: jws, id: notice, timeline: steps, entries)
            }
            #expect(throws: LogVerifier.Failure.self) {
                try LogVerifier.matchNotice(jws: jws, id: notice, timeline: Array(steps.prefix(2)), entries)
            }
            // A checkpoint signed by another key is refused.
            let stranger = Curve25519.Signing.PrivateKey()
            let forged = try SignedNote.sign(
                Checkpoint(origin: verifier.origin, size: checkpoint.size, rootHash: checkpoint.rootHash).text,
                name: verifier.origin, key: stranger)
            #expect(throws: LogVerifier.Failure.self) { try verifier.checkpoint(forged) }
        }
    }

    struct Shown: Decodable {
        var timeline: [LogVerifier.TimelineStep]
    }

    @Test("checkpoints grow consistently, and the tiles make their roots")
    func checkpointsAndTiles() async throws {
        try await API.run { api async throws in
            _ = try await api.partner(domains: ["tiles.test"])
            let verifier = try LogVerifier(
                verifierKey: try await api.call(.get, "/.well-known/takedown-log-key", token: nil).text)
            _ = try await api.submit(["https://cdn.tiles.test/1.jpg"])
            let first = try verifier.checkpoint(try await api.call(.post, "/v1/log/checkpoint").text)
            for index in 2...6 { _ = try await api.submit(["https://cdn.tiles.test/\(index).jpg"]) }
            let second = try verifier.checkpoint(try await api.call(.post, "/v1/log/checkpoint").text)
            #expect(second.size > first.size)
            let reply = try await api.call(.get, "/v1/log/consistency?first=\(first.size)&second=\(second.size)")
            let proof = try #require(reply["proof"] as? [String]).compactMap { Data(base64Encoded: $0) }
            #expect(
                try verifier.consistent(
                    old: try await api.call(.get, "/v1/log/checkpoint?size=\(first.size)").text, new: second,
                    proof: proof
                ).size == first.size)
            let tile = try await api.call(.get, "/log/tile/0/000.p/\(second.size)", token: nil)
            #expect(tile.status == .ok && tile.data.count == 32 * second.size)
            let leaves = stride(from: 0, to: tile.data.count, by: 32).map { tile.data.subdata(in: $0..<($0 + 32)) }
            #expect(MerkleTree.rootHash(leaves) == second.rootHash)
            #expect(MerkleTree.rootHash(Array(leaves.prefix(first.size))) == first.rootHash)
            let entries = try await api.call(.get, "/v1/log/entries?start=0&end=\(second.size)")
            let bodies = try #require(entries["entries"] as? [[String: Any]]).compactMap {
                ($0["body"] as? String).flatMap { Data(base64Encoded: $0) }
            }
            #expect(bodies.map(MerkleTree.leafHash) == leaves)
        }
    }

    @Test("hostile numbers, paths and ids are clear problems and change nothing")
    func hostileInput() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner(domains: ["hostile.test"])
            _ = try await api.submit(["https://cdn.hostile.test/1.jpg"])
            let before = try await api.call(.post, "/v1/log/checkpoint").text
            let huge = "9223372036854775807"
            for query in [
                "start=\(huge)", "start=-1", "start=1e3", "start=\(huge)0", "start=5&end=2", "start=0x10",
                "start=\(String(repeating: "9", count: 5_000))", "end=-5",
            ] {
                let reply = try await api.call(.get, "/v1/log/entries?\(query)")
                #expect(reply.status == .ok || reply.isProblem(.badRequest), "\(query): \(reply.status)")
            }
            #expect(try await api.call(.get, "/v1/log/entries?start=\(huge)").status == .ok)
            for query in [
                "first=1&second=\(huge)", "first=\(huge)&second=\(huge)", "first=-1&second=1", "first=2&second=1",
                "second=1", "first=&second=",
            ] {
                #expect(try await api.call(.get, "/v1/log/consistency?\(query)").isProblem(.badRequest), "\(query)")
            }
            for query in ["size=0", "size=-3", "size=\(huge)0", "size=abc"] {
                #expect(try await api.call(.get, "/v1/log/checkpoint?\(query)").isProblem(.badRequest), "\(query)")
            }
            #expect(try await api.call(.get, "/v1/log/checkpoint?size=\(huge)").isProblem(.notFound))
            for path in [
                "/log/tile/0/001", "/log/tile/64/000", "/log/tile/0/000.p/0", "/log/tile/0/000.p/256", "/log/tile/0/00",
                "/log/tile/0/x000/000", "/log/tile/0/x922/x337/x203/x685/x477/x580/807", "/log/tile/entries/000",
                "/log/tile/0/000.p/9999999999999999999999",
                "/log/tile/" + String(repeating: "x000/", count: 400) + "000",
                "/log/tile/0/..%2F..%2Fetc", "/log/tile/0/000%00", "/log/tile/-1/000",
            ] {
                #expect(try await api.call(.get, path, token: nil).isProblem(.notFound), "\(path)")
            }
            for id in ["ntc_00000000000000000000000000", "nope", String(repeating: "a", count: 3_000)] {
                #expect(try await api.call(.get, "/v1/notices/\(id)/proof").isProblem(.notFound), "\(id.prefix(20))")
            }
            #expect(try await api.call(.post, "/v1/log/checkpoint", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/log/entries", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/log/checkpoint", token: nil).isProblem(.unauthorized))
            // Nothing the hostile requests sent changed the log.
            #expect(try await api.call(.post, "/v1/log/checkpoint").text == before)
        }
    }
}
