import Foundation
import PostgresNIO
import TakedownPostgres

/// The benchmark's PostgreSQL database, made anew for every gateway it starts.
enum BenchDatabase {
    static let name = "takedown_bench"

    /// Drops (closing any connection left to it) and creates `takedown_bench` (or `name`) on the server
    /// `url` names; returns its URL. Fixed names, so an interrupted run leaves at most one of each behind.
    static func recreate(_ url: String, name: String = name) async throws -> String {
        guard var components = URLComponents(string: url) else { throw BenchError("not a URL: --database-url") }
        let client = PostgresClient(configuration: try PostgresStoreConfiguration(url: url, poolSize: 1).client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        components.path = "/\(name)"
        return components.string ?? url
    }
}
