import Foundation
import GRDB
import TakedownSQLite
import TakedownStore
import TakedownTestSupport
import Testing

/// A database an older gateway filled, at each earlier schema version, opened by the current store.
@Suite("SQLite: upgrades from every earlier schema version")
struct SQLiteUpgradeTests {
    @Test(
        "a populated database migrates to the current schema and reads back", arguments: UpgradeFixture.earlierVersions)
    func upgrade(from version: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("takedown.sqlite").path
        let older = try SQLiteStore(path: path)
        try await older.migrate(upTo: version)
        let applied = Array(UpgradeFixture.sqliteVersions.prefix { $0 <= version })
        #expect(try await older.appliedMigrations() == applied)

        // The older gateway's rows, in plain SQL with its foreign keys checked.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            for row in UpgradeFixture.rows(at: version, .sqlite) {
                try db.execute(sql: row.sql(.sqlite), arguments: StatementArguments(row.values.map(\.databaseValue)))
            }
        }
        try queue.close()

        let upgraded = try SQLiteStore(path: path)
        try await upgraded.migrate()
        #expect(try await upgraded.appliedMigrations() == UpgradeFixture.sqliteVersions)
        try await UpgradeFixture.check(upgraded, upgradedFrom: version)
    }
}

extension UpgradeFixture.Value {
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): return text.databaseValue
        case .real(let real): return real.databaseValue
        case .integer(let integer): return integer.databaseValue
        case .blob(let data): return data.databaseValue
        case .bool(let bool): return bool.databaseValue
        case .null: return .null
        }
    }
}
