import Foundation
import TakedownSQLite
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("SQLite store")
struct SQLiteConformanceTests {
    @Test("conformance", arguments: StoreConformance.names)
    func conformance(_ name: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("takedown.sqlite").path)
        try await store.migrate()
        try await StoreConformance.all[name]!(store)
    }

    @Test("the database runs in WAL mode and records its migrations")
    func walAndMigrations() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("takedown.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        #expect(
            try await store.appliedMigrations() == UpgradeFixture.sqliteVersions)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
