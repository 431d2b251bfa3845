import Foundation
import PostgresNIO
import TakedownPostgres
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
