import TakedownServer

/// The stores a test can run on: SQLite always, PostgreSQL when `TAKEDOWN_TEST_DATABASE_URL` is set.
public enum TestBackend: String, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public static var available: [TestBackend] { PostgresTestDatabase.url == nil ? [.sqlite] : [.sqlite, .postgres] }

    public var description: String { rawValue }

    /// Runs `body` with a settings change that points a gateway at a fresh database of this kind: for
    /// SQLite the gateway's own data folder, for PostgreSQL a new database, dropped afterwards.
    public func run<T>(_ body: (_ configure: @escaping @Sendable (inout ServerSettings) -> Void) async throws -> T)
        async throws -> T
    {
        switch self {
        case .sqlite:
            return try await body { _ in }
        case .postgres:
            return try await PostgresTestDatabase.withFreshDatabase { url in
                try await body { $0.databaseURL = url }
            }
        }
    }
}
