import Foundation
import TakedownPostgres
import TakedownSQLite
import TakedownServer
import TakedownStore
import TakedownTestSupport
import Testing

/// The composition root picks the store from the settings and keeps the database password to itself.
@Suite(
    "PostgreSQL in the composition root",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresCompositionTests {
    @Test("a database URL opens a migrated PostgreSQL store; without one it is SQLite")
    func selection() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
            defer { try? FileManager.default.removeItem(at: directory) }
            // The data folder holds the key that seals webhook secrets, also with PostgreSQL.
            var settings = try ServerSettings(environment: [
                "TAKEDOWN_DATABASE_URL": url, "TAKEDOWN_DATA_DIR": directory.path,
            ])
            let store = try await GatewayComposition.store(settings)
            #expect(store is PostgresStore)
            #expect(try await (store as? PostgresStore)?.appliedMigrations() == UpgradeFixture.allVersions)
            try await store.ping()
            #expect(GatewayComposition.storeServices(store, wakeUp: nil).count == 1)
            await GatewayComposition.close(store)
            #expect(
                FileManager.default.fileExists(
                    atPath: settings.keysDirectory.appendingPathComponent("secrets.key").path))

            settings = try ServerSettings(environment: ["TAKEDOWN_DATA_DIR": directory.path])
            let sqlite = try await GatewayComposition.store(settings)
            #expect(sqlite is SQLiteStore)
            #expect(GatewayComposition.storeServices(sqlite, wakeUp: nil).count == 1)
        }
    }

    // An unreachable server fails the same way, with the same masking, but only once the pool gives up
    // retrying (a minute): a setting the store refuses shows it at once.
    @Test("a database URL the store refuses fails the start with the password masked")
    func passwordMasked() async throws {
        let settings = try ServerSettings(environment: [
            "TAKEDOWN_DATABASE_URL": "postgres://takedown:s3cret-pw@127.0.0.1:1/takedown?sslmode=bogus",
            "TAKEDOWN_DATABASE_POOL_SIZE": "2",
        ])
        #expect(settings.databasePoolSize == 2)
        do {
            _ = try await GatewayComposition.store(settings)
            Issue.record("a store opened on a closed port")
        } catch {
            let message = "\(error)"
            #expect(!message.contains("s3cret-pw"))
            #expect(message.contains("postgres://takedown:***@127.0.0.1:1/takedown"))
            #expect(message.contains("sslmode"))
        }
        #expect(throws: SettingsError.self) {
            try ServerSettings(environment: ["TAKEDOWN_DATABASE_POOL_SIZE": "0"])
        }
    }
}
