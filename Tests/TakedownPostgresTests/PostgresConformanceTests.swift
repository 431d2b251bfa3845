import Foundation
import TakedownModel
import TakedownPostgres
import TakedownStore
import TakedownTestSupport
import Testing

/// The one conformance suite on PostgreSQL, each check on its own new database. Skipped, and reported as
/// skipped, when `TAKEDOWN_TEST_DATABASE_URL` is unset; scripts/test always sets it.
@Suite(
    "PostgreSQL store",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresConformanceTests {
    @Test("conformance", arguments: StoreConformance.names)
    func conformance(_ name: String) async throws {
        try await PostgresTestDatabase.withFreshStore { store in try await StoreConformance.all[name]!(store) }
    }

    @Test("instances starting together migrate once and record every migration")
    func concurrentMigrations() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let stores = try (0..<4).map { _ in try PostgresStore(url: url, poolSize: 2) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                try await group.waitForAll()
            }
            #expect(
                try await stores[0].appliedMigrations() == UpgradeFixture.allVersions)
            for store in stores { await store.shutdown() }
        }
    }

    @Test("the pool size comes from the caller, else the URL, else the default")
    func poolSize() throws {
        #expect(try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:5/db").poolSize == 10)
        #expect(try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:5/db?pool_size=3").poolSize == 3)
        #expect(
            try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:5/db?pool_size=3", poolSize: 7).poolSize == 7)
        #expect(throws: StoreError.self) { try PostgresStoreConfiguration(url: "mysql://u@127.0.0.1/db") }
    }
}
