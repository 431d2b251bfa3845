import Foundation
import GRDB
import TakedownModel
import TakedownStore

/// The embedded default store: one SQLite file in WAL mode, reached through a GRDB pool.
public final class SQLiteStore: GatewayStore, Sendable {
    let pool: DatabasePool
    /// Issuance's case writes, committed together when they arrive together.
    let commits: GroupCommit
    /// The connection `checkpoint()` copies the WAL into the database file on.
    let checkpointer: DatabaseQueue
    /// How often a server checkpoints: often enough that each copy is small.
    public static let checkpointInterval: TimeInterval = 0.2
    /// The database file, and its identity (device and inode) when it was opened.
    let path: String
    let fileIdentity: FileIdentity?
    /// Seals webhook secrets before they are written and opens them when read.
    let secrets: any SecretSealing

    /// Opens (creating when missing) the database file at `path`. Without `secrets`, webhook secrets are
    /// stored as given: the server always passes its key (`GatewayComposition.store`).
    public init(path: String, secrets: any SecretSealing = UnsealedSecrets()) throws {
        self.secrets = secrets
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL with NORMAL: a commit survives a process crash; an OS crash may lose the last few.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // 16 MiB of page cache per connection (SQLite's default is 2 MiB): large hash lists update an
            // index of random keys, and every page missed is a read from the OS.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // A running server checkpoints on a connection of its own (`checkpoint()`), so the writer never
            // waits for the copy and its fsync. The writer's own checkpoint after 8,000 WAL pages (~32 MiB;
            // SQLite's default is 1,000) is the backstop, for commands and for a checkpointer behind.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8000")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError.unavailable("cannot open \(path): \(error)")
        }
        commits = GroupCommit(pool: pool)
        do {
            checkpointer = try DatabaseQueue(path: path)
        } catch {
            throw StoreError.unavailable("cannot open \(path) for checkpoints: \(error)")
        }
        fileIdentity = FileIdentity(path: path)
    }

    public func migrate() async throws {
        try await guarded { try Self.migrator.migrate(pool) }
        try await sealStoredSecrets()
    }

    /// Applies the migrations up to and including `version`, and nothing else: a database as an older
    /// gateway left it, for upgrade tests.
    package func migrate(upTo version: String) async throws {
        try await guarded { try Self.migrator.migrate(pool, upTo: version) }
    }

    /// The database answers, and its file is still the one this store opened: a file deleted or replaced
    /// under a running gateway would take every later write with it.
    public func ping() async throws {
        try await guarded { _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
        guard let fileIdentity, FileIdentity(path: path) == fileIdentity else {
            throw StoreError.unavailable("the database file \(path) was removed or replaced since it was opened")
        }
    }

    /// Copies what the WAL holds into the database file, as far as readers allow, without holding up the
    /// writer (SQLite's passive checkpoint, on a connection of its own). Run every fraction of a second by
    /// the server; another process checkpointing the same file at the moment makes it a no-op.
    public func checkpoint() async throws {
        do {
            try await checkpointer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        {
            return
        } catch let error as DatabaseError {
            throw StoreError.unavailable(error.description)
        }
    }

    /// Applied migrations, by name, for `takedown migrate` to report.
    /// Applied migrations in the order they are applied (`v10` after `v9`), unknown ones last by name.
    public func appliedMigrations() async throws -> [String] {
        let applied = try await guarded { try await pool.read { db in try Self.migrator.appliedIdentifiers(db) } }
        return MigrationState.ordered(applied, known: Self.migrator.migrations)
    }

    /// The schema against this gateway's migrations, without changing it.
    public func migrationState() async throws -> MigrationState {
        MigrationState(known: Self.migrator.migrations, applied: try await appliedMigrations())
    }

    /// Runs a store operation, turning GRDB errors into `StoreError`.
    func guarded<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.conflict(error.message ?? "constraint failed")
            }
            throw StoreError.unavailable(error.description)
        }
    }
}

extension Date {
    /// Seconds since 1970 as stored in SQLite REAL columns.
    var storedValue: Double { timeIntervalSince1970 }

    init(stored value: Double) { self.init(timeIntervalSince1970: value) }
}

/// A file's device and inode: the same path naming another file (deleted and made anew) differs.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
            let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
        else { return nil }
        self.device = device
        self.inode = inode
    }
}
