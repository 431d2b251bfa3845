import Foundation
import PostgresNIO
import TakedownStore

/// Where the database is and how many connections the pool may open, read from a `postgres://` URL.
public struct PostgresStoreConfiguration: Sendable {
    /// The pool size when neither the URL (`?pool_size=`) nor the caller names one.
    public static let defaultPoolSize = 10

    public var client: PostgresClient.Configuration
    public var poolSize: Int

    /// Reads `postgres://user[:password]@host[:port]/database[?pool_size=N&sslmode=disable|prefer|require]`.
    /// `poolSize` (from `TAKEDOWN_DATABASE_POOL_SIZE`) wins over the URL's.
    public init(url: String, poolSize: Int? = nil) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else { throw StoreError.unavailable("not a postgres:// URL") }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        case let other: throw StoreError.unavailable("unsupported sslmode \(other)")
        }
        var client = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database,
            tls: tls)
        let size = poolSize ?? query["pool_size"].flatMap(Int.init) ?? Self.defaultPoolSize
        guard size >= 1 else { throw StoreError.unavailable("pool size must be at least 1") }
        // One more than asked for: the outbox listener holds a connection for as long as it runs.
        client.options.maximumConnections = size + 1
        self.client = client
        self.poolSize = size
    }
}
