import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    /// `v7-audit`: the append-only audit trail; triggers refuse any update or delete.
    static func registerAudit(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-audit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit_log (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        token_id TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT,
                        summary TEXT NOT NULL,
                        client TEXT NOT NULL
                    );
                    CREATE INDEX audit_log_actor ON audit_log(actor, position);
                    CREATE INDEX audit_log_target ON audit_log(target, position);
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
        }
    }

    /// A write transaction that also writes the request's pending audit entry, if no transaction of the
    /// request has written it yet (see `AuditStore`). Every write of this store goes through here or
    /// `groupWrite`.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        // `pool.write` never keeps the closure; only `groupWrite`'s queue needs one it may keep.
        try await withoutActuallyEscaping(updates) { updates in
            try await audited(updates) { work in try await pool.write(work) }
        }
    }

    /// The same, in a transaction shared with other writes waiting at the time (`GroupCommit`): for the
    /// writes issuance makes many of at once.
    func groupWrite<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await audited(updates) { work in try await commits.write(work) }
    }

    /// Runs `updates` and the pending audit entry through `writer`, in one transaction; an entry whose
    /// write failed is handed back for the request's next write.
    private func audited<T: Sendable>(
        _ updates: @escaping @Sendable (Database) throws -> T,
        through writer: (@escaping @Sendable (Database) throws -> T) async throws -> T
    ) async throws -> T {
        let scope = AuditScope.current
        let entry = scope?.claim()
        do {
            return try await writer { db in
                let result = try updates(db)
                if let entry { try Self.insertAudit(entry, db) }
                return result
            }
        } catch {
            if entry != nil { scope?.release() }
            throw error
        }
    }

    static func insertAudit(_ entry: AuditEntry, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_log (at, actor, token_id, action, target, summary, client)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                entry.at.storedValue, entry.actor, entry.tokenId.rawValue, entry.action, entry.target, entry.summary,
                entry.client,
            ])
        try log(.audit(entry), db: db)
    }

    public func auditEntries(actor: String?, target: String?, after position: Int64, limit: Int) async throws
        -> [(position: Int64, entry: AuditEntry)]
    {
        var sql = "SELECT * FROM audit_log WHERE position > ?"
        var arguments: StatementArguments = [position]
        if let actor {
            sql += " AND actor = ?"
            _ = arguments.append(contentsOf: [actor])
        }
        if let target {
            sql += " AND target = ?"
            _ = arguments.append(contentsOf: [target])
        }
        sql += " ORDER BY position LIMIT ?"
        _ = arguments.append(contentsOf: [limit])
        let (query, bound) = (sql, arguments)
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: query, arguments: bound).map { row in
                    (
                        position: row["position"] as Int64,
                        entry: AuditEntry(
                            actor: row["actor"], tokenId: TokenID(rawValue: row["token_id"]),
                            at: Date(stored: row["at"]), action: row["action"], target: row["target"],
                            summary: row["summary"], client: row["client"])
                    )
                }
            }
        }
    }
}
