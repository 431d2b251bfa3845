import Foundation
import Logging
import PostgresNIO
import TakedownModel
import TakedownStore

/// The store for several gateway instances sharing one PostgreSQL database, reached through a
/// postgres-nio connection pool.
///
/// Times are stored as `double precision` seconds since 1970, as in the SQLite store, so every `Date`
/// round-trips exactly; the store is given its clock (`now`) and never reads the server's.
public final class PostgresStore: GatewayStore, Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Seals webhook secrets before they are written and opens them when read.
    let secrets: any SecretSealing
    /// Cases written at the same time share a transaction.
    let caseCommits = CaseCommits()
    private let runner: Task<Void, Never>

    /// Connects lazily with the given settings; the pool runs until `shutdown()`. Without `secrets`, webhook
    /// secrets are stored as given: the server always passes its key (`GatewayComposition.store`).
    public init(
        configuration: PostgresStoreConfiguration, secrets: any SecretSealing = UnsealedSecrets(),
        logger: Logger = Logger(label: "takedown.postgres")
    ) {
        self.secrets = secrets
        // The pool's own chatter only from error up: failed connection attempts reach callers as
        // `StoreError.unavailable`, and a lease asked for just before `run()` starts is not a problem.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration.client, backgroundLogger: background)
        self.client = client
        self.logger = logger
        // The pool needs `run()` for as long as the store is used; `shutdown()` cancels it.
        runner = Task { await client.run() }
    }

    /// Opens the database a `postgres://` URL names.
    public convenience init(
        url: String, poolSize: Int? = nil, secrets: any SecretSealing = UnsealedSecrets(),
        logger: Logger = Logger(label: "takedown.postgres")
    ) throws {
        self.init(
            configuration: try PostgresStoreConfiguration(url: url, poolSize: poolSize), secrets: secrets,
            logger: logger)
    }

    /// Closes the pool: queries after this fail.
    public func shutdown() async {
        runner.cancel()
        await runner.value
    }

    public func ping() async throws {
        _ = try await rows("SELECT 1")
    }

    /// Runs a store operation, turning driver errors into `StoreError`; other errors pass unchanged.
    func guarded<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw Self.storeError(error)
        } catch  where String(describing: type(of: error)) == "ConnectionPoolError" {
            // The pool's error type lives in an underscored module we do not import: no server, pool closed.
            throw StoreError.unavailable("database unreachable: \(error)")
        }
    }

    static func storeError(_ error: PSQLError) -> StoreError {
        guard error.code == .server, let info = error.serverInfo else {
            return .unavailable("database: \(error.code)")
        }
        let message = info[.message] ?? "database error"
        switch info[.sqlState] ?? "" {
        case "23505", "23503", "23514", "23502": return .conflict(message)
        default: return .unavailable("\(info[.sqlState] ?? "?"): \(message)")
        }
    }

    /// Rows of a query outside any transaction.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await guarded {
            try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
        }
    }

    /// Runs `body` in one transaction (READ COMMITTED) on one pooled connection: committed when it returns,
    /// rolled back when it throws, with the error it threw.
    /// A transaction PostgreSQL chose as a deadlock victim is run again, up to `attempts` times in all.
    func transaction<T: Sendable>(attempts: Int = 3, _ body: (Transaction) async throws -> T) async throws -> T {
        for attempt in 1... {
            do {
                // The request's audit entry, if it has one still to write, commits with this transaction.
                let scope = AuditScope.current
                let audit = scope?.claim()
                do {
                    return try await guarded {
                        try await client.withConnection { connection in
                            let transaction = Transaction(connection: connection, logger: logger)
                            try await transaction.run("BEGIN")
                            do {
                                let result = try await body(transaction)
                                if let audit { try await Self.insertAudit(audit, transaction) }
                                try await transaction.run("COMMIT")
                                return result
                            } catch {
                                // Not in the caller's task: a cancelled task (a worker stopping) must still
                                // roll back before the connection goes back to the pool.
                                await Task { try? await transaction.run("ROLLBACK") }.value
                                throw error
                            }
                        }
                    }
                } catch {
                    if audit != nil { scope?.release() }
                    throw error
                }
            } catch StoreError.unavailable(let message) where message.hasPrefix("40P01") && attempt < attempts {
                logger.notice("deadlock victim; running the transaction again", metadata: ["attempt": "\(attempt)"])
            }
        }
        fatalError("unreachable")
    }

    /// One connection inside an open transaction.
    struct Transaction: RowSource {
        let connection: PostgresConnection
        let logger: Logger

        func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
            try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
        }

        func run(_ query: PostgresQuery) async throws {
            _ = try await connection.query(query, logger: logger).collect()
        }

        /// How many rows a statement with `RETURNING 1` touched.
        func count(_ query: PostgresQuery) async throws -> Int {
            try await connection.query(query, logger: logger).collect().count
        }
    }
}

/// Where rows come from: the pool (one statement, its own transaction) or an open transaction.
protocol RowSource {
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow]
}

extension PostgresStore: RowSource {}

extension PostgresRandomAccessRow {
    /// The value of a named column.
    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A stored time, in seconds since 1970.
    func date(_ column: String) throws -> Date {
        Date(timeIntervalSince1970: try get(column, as: Double.self))
    }

    /// A stored time that may be missing.
    func optionalDate(_ column: String) throws -> Date? {
        try get(column, as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }
}

extension Date {
    /// Seconds since 1970, as stored in `double precision` columns.
    var stored: Double { timeIntervalSince1970 }
}
