import Foundation
import NIOCore
import PostgresNIO
import TakedownPostgres

/// What PostgreSQL itself allows on this machine, measured in the same run as the gateway on it: single-row
/// commits on a scratch table, and the outbox's claim transaction alone on a real backlog.
enum PostgresCeilings {
    struct Commits {
        var oneConnection: Double
        var pooled: Double
        var connections: Int
    }

    /// Autocommitted single-row INSERTs of a 1 KiB row: one connection in sequence (each waits for its WAL
    /// flush), then `connections` at once (the server can flush several commits together).
    static func commits(serverURL: String, seconds: Double, connections: Int = 10) async throws -> Commits {
        let url = try await BenchDatabase.recreate(serverURL, name: "takedown_bench_ceiling")
        let client = PostgresClient(
            configuration: try PostgresStoreConfiguration(url: url, poolSize: connections).client)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query("CREATE TABLE t (id bigserial PRIMARY KEY, body bytea NOT NULL)")
            let row = ByteBuffer(repeating: 0x62, count: 1024)
            let single = try await insert(client, row: row, seconds: seconds, tasks: 1)
            let pooled = try await insert(client, row: row, seconds: seconds, tasks: connections)
            return Commits(oneConnection: single, pooled: pooled, connections: connections)
        }
    }

    static func insert(_ client: PostgresClient, row: ByteBuffer, seconds: Double, tasks: Int) async throws -> Double {
        let start = Date()
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var commits = 0
                    while Date().timeIntervalSince(start) < seconds {
                        try await client.query("INSERT INTO t (body) VALUES (\(row))")
                        commits += 1
                    }
                    return commits
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / Date().timeIntervalSince(start)
    }

    struct Claims {
        var perSecond: Double
        var rowsPerSecond: Double
        var rowsPerClaim: Double
    }

    /// The store's claim transaction (lock due endpoints, lease their oldest rows up to the cap, commit) on
    /// the backlog of the gateway's database, as `takedown worker` runs it, timed alone: after each claim
    /// the leases are handed back (not timed), so every claim finds the same backlog.
    static func claims(databaseURL: String, seconds: Double, cap: Int, batch: Int = 64) async throws -> Claims {
        let store = try PostgresStore(url: databaseURL, poolSize: 2)
        do {
            let claims = try await claims(store, seconds: seconds, cap: cap, batch: batch)
            await store.shutdown()
            return claims
        } catch {
            await store.shutdown()
            throw error
        }
    }

    static func claims(_ store: PostgresStore, seconds: Double, cap: Int, batch: Int) async throws -> Claims {
        // Later than every row's next attempt, so the whole backlog is due.
        let now = Date().addingTimeInterval(86_400)
        var claimTime = 0.0
        var claims = 0
        var rows = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            let began = ContinuousClock.now
            let claimed = try await store.claimDeliveries(
                owner: "bench-ceiling", limit: batch, now: now, lease: 60, perEndpointCap: cap)
            claimTime += (ContinuousClock.now - began).seconds
            guard !claimed.isEmpty else { throw BenchError("the claim found no backlog to lease") }
            claims += 1
            rows += claimed.count
            _ = try await store.rescueExpiredLeases(now: now.addingTimeInterval(120))
        }
        return Claims(
            perSecond: Double(claims) / claimTime, rowsPerSecond: Double(rows) / claimTime,
            rowsPerClaim: Double(rows) / Double(claims))
    }
}
