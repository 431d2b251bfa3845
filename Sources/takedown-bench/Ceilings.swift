import Crypto
import Foundation
import GRDB
import TakedownSigning

/// What the hardware and libraries allow, measured in the same run as the gateway.
struct Ceilings {
    var noticeBytes: Int
    var rawSignaturesPerSecond: Double
    var signaturesPerSecond: Double
    var blockingCommitsPerSecond: Double
    var asyncCommitsPerSecond: Double

    static func measure(seconds: Double) async throws -> Ceilings {
        // A payload the size of a one-item notice.
        let payload = Data(repeating: 0x61, count: 2600)
        let key = SigningKey.generate(at: Date())
        var raw = 0
        var start = Date()
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<100 { _ = try key.sign(payload) }
            raw += 100
        }
        let rawPerSecond = Double(raw) / Date().timeIntervalSince(start)

        var signatures = 0
        start = Date()
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<100 { _ = try JWS.sign(payload: payload, with: key) }
            signatures += 100
        }
        let signaturesPerSecond = Double(signatures) / Date().timeIntervalSince(start)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "takedown-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(
            path: directory.appendingPathComponent("ceiling.sqlite").path, configuration: configuration)
        let row = Data(repeating: 0x62, count: 1024)
        let blocking = try blockingCommits(pool, row: row, seconds: seconds)

        var commits = 0
        start = Date()
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<100 {
                try await pool.write { db in try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [row]) }
            }
            commits += 100
        }
        let asynchronous = Double(commits) / Date().timeIntervalSince(start)
        return Ceilings(
            noticeBytes: payload.count, rawSignaturesPerSecond: rawPerSecond, signaturesPerSecond: signaturesPerSecond,
            blockingCommitsPerSecond: blocking,
            asyncCommitsPerSecond: asynchronous)
    }

    /// Synchronous on purpose: in an async context GRDB's async `write` overload would be chosen.
    static func blockingCommits(_ pool: DatabasePool, row: Data, seconds: Double) throws -> Double {
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)") }
        var commits = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<100 {
                try pool.write { db in try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [row]) }
            }
            commits += 100
        }
        return Double(commits) / Date().timeIntervalSince(start)
    }
}
