import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    /// Sources of lists, each entry's source time and each change's origin.
    static func registerHashListSources(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-hash-list-sources") { db in
            try db.execute(
                sql: """
                    ALTER TABLE hash_list_entries ADD COLUMN remote_at REAL;
                    ALTER TABLE hash_list_changes ADD COLUMN origin_source TEXT;
                    ALTER TABLE hash_list_changes ADD COLUMN origin_member INTEGER;
                    ALTER TABLE hash_list_changes ADD COLUMN origin_id TEXT;
                    CREATE TABLE hash_list_sources (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        name TEXT NOT NULL,
                        base_url TEXT NOT NULL,
                        username TEXT NOT NULL,
                        password TEXT NOT NULL,
                        uk_grade TEXT NOT NULL,
                        interval_seconds INTEGER NOT NULL,
                        overlap_seconds INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        next_pull_at REAL NOT NULL,
                        lease_token TEXT,
                        lease_until REAL,
                        state TEXT NOT NULL
                    );
                    CREATE INDEX hash_list_sources_list ON hash_list_sources(list_id, position);
                    CREATE INDEX hash_list_sources_due ON hash_list_sources(next_pull_at);
                    """)
        }
    }

    public func insertHashListSource(_ source: HashListSource) async throws {
        let sealed = try secrets.seal(source.password)
        let state = try StoredJSON.encode(source.state)
        try await guarded {
            try await write { db in
                guard
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM hash_lists WHERE id = ?", arguments: [source.listId.rawValue])
                        != nil
                else { throw StoreError.notFound }
                try db.execute(
                    sql: """
                        INSERT INTO hash_list_sources (id, list_id, name, base_url, username, password, uk_grade,
                            interval_seconds, overlap_seconds, created_at, next_pull_at, state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        source.id.rawValue, source.listId.rawValue, source.name, source.baseURL, source.username,
                        sealed,
                        source.ukGrade.rawValue, source.intervalSeconds, source.overlapSeconds,
                        source.createdAt.storedValue, source.state.nextPullAt.storedValue, state,
                    ])
            }
        }
    }

    public func hashListSource(_ id: SourceID) async throws -> HashListSource? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM hash_list_sources WHERE id = ?", arguments: [id.rawValue])
                    .map { try self.source(from: $0) }
            }
        }
    }

    public func hashListSources(_ list: HashListID) async throws -> [HashListSource] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM hash_list_sources WHERE list_id = ? ORDER BY position",
                    arguments: [list.rawValue]
                ).map { try self.source(from: $0) }
            }
        }
    }

    public func scheduleHashListSourcePull(_ id: SourceID, at: Date) async throws {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: "UPDATE hash_list_sources SET next_pull_at = ? WHERE id = ?",
                    arguments: [at.storedValue, id.rawValue])
                guard db.changesCount == 1 else { throw StoreError.notFound }
            }
        }
    }

    public func claimHashListSource(now: Date, lease: TimeInterval) async throws -> SourceClaim? {
        let token = UUID().uuidString
        return try await guarded {
            try await write { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        UPDATE hash_list_sources SET lease_token = ?, lease_until = ?
                        WHERE id = (SELECT id FROM hash_list_sources
                                    WHERE next_pull_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                                    ORDER BY next_pull_at LIMIT 1)
                        RETURNING *
                        """,
                    arguments: [token, now.addingTimeInterval(lease).storedValue, now.storedValue, now.storedValue]
                ).map { SourceClaim(source: try self.source(from: $0), token: token) }
            }
        }
    }

    public func applyHashListSourcePage(
        _ claim: SourceClaim, _ changes: [SourceChange], state: SourceState, at now: Date, leaseUntil: Date?
    ) async throws -> SourceCounts? {
        try await guarded {
            try await write { db in
                guard let held = try Self.heldState(claim, db) else { return nil }
                guard
                    let row = try Row.fetchOne(
                        db, sql: Self.listSelect + " WHERE l.id = ?", arguments: [claim.source.listId.rawValue])
                else { throw StoreError.notFound }
                let list = try Self.hashList(from: row, db)
                var log = try HashListLog(list.id, db)
                var counts = SourceCounts(pages: 1)
                for change in changes {
                    counts =
                        counts
                        + (try log.take(change, from: claim.source, hashTypes: list.hashTypes, at: now, db)).counts
                }
                try log.save(db)
                var stored = state
                stored.counts = held.counts + counts
                try Self.saveState(claim, stored, leaseUntil: leaseUntil, db)
                return counts
            }
        }
    }

    public func updateHashListSourceState(_ claim: SourceClaim, _ state: SourceState, release: Bool) async throws
        -> Bool
    {
        try await guarded {
            try await write { db in
                guard let held = try Self.heldState(claim, db) else { return false }
                var stored = state
                stored.counts = held.counts
                try Self.saveState(claim, stored, leaseUntil: release ? nil : try Self.leaseUntil(claim, db), db)
                return true
            }
        }
    }

    /// The stored state of a source whose claim `claim` still holds; nil when it was lost.
    static func heldState(_ claim: SourceClaim, _ db: Database) throws -> SourceState? {
        guard
            let text = try String.fetchOne(
                db, sql: "SELECT state FROM hash_list_sources WHERE id = ? AND lease_token = ?",
                arguments: [claim.source.id.rawValue, claim.token])
        else { return nil }
        return try StoredJSON.decode(SourceState.self, text)
    }

    static func leaseUntil(_ claim: SourceClaim, _ db: Database) throws -> Date? {
        try Double.fetchOne(
            db, sql: "SELECT lease_until FROM hash_list_sources WHERE id = ?", arguments: [claim.source.id.rawValue]
        ).map(Date.init(stored:))
    }

    /// Writes the state; a nil `leaseUntil` releases the claim.
    static func saveState(_ claim: SourceClaim, _ state: SourceState, leaseUntil: Date?, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE hash_list_sources SET state = ?, next_pull_at = ?, lease_until = ?,
                    lease_token = CASE WHEN ? IS NULL THEN NULL ELSE lease_token END
                WHERE id = ? AND lease_token = ?
                """,
            arguments: [
                try StoredJSON.encode(state), state.nextPullAt.storedValue, leaseUntil?.storedValue,
                leaseUntil?.storedValue, claim.source.id.rawValue, claim.token,
            ])
    }

    func source(from row: Row) throws -> HashListSource {
        var state = try StoredJSON.decode(SourceState.self, row["state"])
        state.nextPullAt = Date(stored: row["next_pull_at"])
        return HashListSource(
            id: SourceID(rawValue: row["id"]), listId: HashListID(rawValue: row["list_id"]), name: row["name"],
            baseURL: row["base_url"], username: row["username"],
            password: try secrets.opened(row["password"]),
            ukGrade: UKGrade(rawValue: row["uk_grade"]) ?? .a, intervalSeconds: row["interval_seconds"],
            overlapSeconds: row["overlap_seconds"], createdAt: Date(stored: row["created_at"]), state: state)
    }
}
