import Foundation
import Logging
import PostgresNIO
import TakedownPostgres
import TakedownStore

/// Fresh databases on the cluster `TAKEDOWN_TEST_DATABASE_URL` names (scripts/test starts one).
public enum PostgresTestDatabase {
    public static let url = ProcessInfo.processInfo.environment["TAKEDOWN_TEST_DATABASE_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// Runs `body` against a new, empty database, dropped afterwards.
    public static func withFreshDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        guard let url, var components = URLComponents(string: url) else {
            throw StoreError.unavailable("TAKEDOWN_TEST_DATABASE_URL is not set")
        }
        let name = "takedown_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        try await admin(url, "CREATE DATABASE \(name)")
        components.path = "/\(name)"
        do {
            let result = try await body(components.string!)
            try await admin(url, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin(url, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs `body` with a migrated store on a new database, closing the store and dropping the database.
    public static func withFreshStore<T>(poolSize: Int = 4, _ body: (PostgresStore) async throws -> T) async throws -> T
    {
        try await withFreshDatabase { url in
            let store = try PostgresStore(url: url, poolSize: poolSize)
            do {
                try await store.migrate()
                let result = try await body(store)
                await store.shutdown()
                return result
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    /// One statement on the database of the URL itself (CREATE and DROP DATABASE cannot run in a
    /// transaction, so not through a store).
    private static func admin(_ url: String, _ sql: String) async throws {
        try await withClient(url, poolSize: 1) { _ = try await $0.query(PostgresQuery(unsafeSQL: sql)) }
    }

    /// Runs `body` with a client of its own on the database `url` names: SQL beside the stores, as an
    /// older gateway or an observer would run it.
    public static func withClient<T: Sendable>(
        _ url: String, poolSize: Int = 2, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let configuration = try PostgresStoreConfiguration(url: url, poolSize: poolSize)
        let client = PostgresClient(configuration: configuration.client)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
