import Foundation
import PostgresNIO
import TakedownPostgres
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// A database an older gateway filled, at each earlier schema version, opened by the current store.
@Suite(
    "PostgreSQL: upgrades from every earlier schema version",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresUpgradeTests {
    @Test(
        "a populated database migrates to the current schema and reads back", arguments: UpgradeFixture.earlierVersions)
    func upgrade(from version: String) async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let older = try PostgresStore(url: url, poolSize: 1)
            try await older.migrate(upTo: version)
            let applied = Array(UpgradeFixture.allVersions.prefix { $0 <= version })
            let recorded = try await older.appliedMigrations()
            await older.shutdown()
            #expect(recorded == applied)

            // The older gateway's rows in one transaction, and its position counters where it left them.
            try await PostgresTestDatabase.withClient(url, poolSize: 1) { client in
                try await client.withTransaction(logger: Logger(label: "takedown.upgrade-test")) { connection in
                    for row in UpgradeFixture.rows(at: version, .postgres) {
                        var binds = PostgresBindings()
                        for value in row.values { value.bind(to: &binds) }
                        _ = try await connection.query(
                            PostgresQuery(unsafeSQL: row.sql(.postgres), binds: binds), logger: connection.logger)
                    }
                    for counter in ["cases", "notices"] {
                        _ = try await connection.query(
                            PostgresQuery(
                                unsafeSQL: "UPDATE counters SET value = (SELECT max(position) FROM \(counter)) "
                                    + "WHERE name = '\(counter)'"),
                            logger: connection.logger)
                    }
                }
            }

            let upgraded = try PostgresStore(url: url, poolSize: 2)
            do {
                try await upgraded.migrate()
                #expect(try await upgraded.appliedMigrations() == UpgradeFixture.allVersions)
                try await UpgradeFixture.check(upgraded, upgradedFrom: version)
            } catch {
                await upgraded.shutdown()
                throw error
            }
            await upgraded.shutdown()
        }
    }
}

/// Where PostgreSQL's log finds its pending entries (the transaction horizon), and the log as
/// `v18-transparency-log` kept it (each entry's place in its own row), moved to `v19-log-leaves`.
@Suite(
    "PostgreSQL: the log's order",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresLogUpgradeTests {
    @Test("an entry committed beside an older open transaction is placed at once; the older one's, once it commits")
    func horizon() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let store = try PostgresStore(url: url, poolSize: 2)
            try await store.migrate()
            do {
                try await PostgresTestDatabase.withClient(url, poolSize: 2) { client in
                    try await client.withTransaction(logger: Logger(label: "takedown.log-test")) { older in
                        _ = try await older.query(
                            "INSERT INTO log_entries (subject, body) VALUES ('older', '\\x7b7d')", logger: older.logger)
                        _ = try await client.query(
                            "INSERT INTO log_entries (subject, body) VALUES ('newer', '\\x5b5d')")
                        #expect(try await store.sequenceLog(limit: 100) == 1)
                        #expect(try await store.logEntries(about: "newer").entries.map(\.index) == [0])
                        #expect(try await store.sequenceLog(limit: 100) == 1)
                    }
                    #expect(try await store.sequenceLog(limit: 100) == 2)
                    #expect(try await store.logEntries(about: "older").entries.map(\.index) == [1])
                    #expect(try await store.sequenceLog(limit: 100) == 2)
                }
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
        }
    }

    @Test("entries already placed keep their places; pending ones are placed after them, once")
    func placesKept() async throws {
        let bodies = (0..<8).map { Data("{\"n\":\($0)}".utf8) }
        let leaves = bodies.map { MerkleTree.leafHash($0) }
        // Five placed, in an order other than their numbers (entries commit out of number order); three pending.
        let placedOrder = [1, 0, 2, 4, 3]
        try await PostgresTestDatabase.withFreshDatabase { url in
            let older = try PostgresStore(url: url, poolSize: 1)
            try await older.migrate(upTo: "v18-transparency-log")
            await older.shutdown()
            try await PostgresTestDatabase.withClient(url, poolSize: 1) { client in
                for (n, body) in bodies.enumerated() {
                    let place = placedOrder.firstIndex(of: n).map(Int64.init)
                    _ = try await client.query(
                        "INSERT INTO log_entries (subject, body, leaf_index) VALUES (\("s\(n)"), \(body), \(place))")
                }
                let placed = placedOrder.map { leaves[$0] }
                for (node, hash) in MerkleTree.append(placed, to: 0, frontier: [:]) {
                    let level = Int64(node.level)
                    _ = try await client.query(
                        "INSERT INTO log_nodes (level, idx, hash) VALUES (\(level), \(node.index), \(hash))")
                }
                _ = try await client.query("UPDATE log_state SET size = 5")
            }

            let upgraded = try PostgresStore(url: url, poolSize: 2)
            do {
                try await upgraded.migrate()
                #expect(try await upgraded.logSize() == 5)
                #expect(try await upgraded.logEntries(about: "s5").pending)
                #expect(try await upgraded.sequenceLog(limit: 2) == 7)
                #expect(try await upgraded.sequenceLog(limit: 100) == 8)
                #expect(try await upgraded.sequenceLog(limit: 100) == 8)
                let order = placedOrder + [5, 6, 7]
                let entries = try await upgraded.logEntries(from: 0, to: 8)
                #expect(entries.map(\.index) == Array(0..<8))
                #expect(entries.map(\.body) == order.map { bodies[$0] })
                let about = try await upgraded.logEntries(about: "s0")
                #expect(!about.pending && about.entries.map(\.index) == [1])
                let root = MerkleTree.rangeHash(
                    0..<8, try await upgraded.logNodes(Set(MerkleTree.nodes(covering: 0..<8))))
                #expect(root == MerkleTree.rootHash(order.map { leaves[$0] }))
            } catch {
                await upgraded.shutdown()
                throw error
            }
            await upgraded.shutdown()
        }
    }
}

extension UpgradeFixture.Value {
    func bind(to binds: inout PostgresBindings) {
        switch self {
        case .text(let text): binds.append(text)
        case .real(let real): binds.append(real)
        case .integer(let integer): binds.append(integer)
        case .blob(let data): binds.append(ByteBuffer(bytes: data))
        case .bool(let bool): binds.append(bool)
        case .null: binds.appendNull()
        }
    }
}
