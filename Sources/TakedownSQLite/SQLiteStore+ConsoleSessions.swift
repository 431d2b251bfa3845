import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    static func registerConsoleSessions(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-console-and-disputes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE console_sessions (
                        id_hash TEXT PRIMARY KEY,
                        token_id TEXT NOT NULL REFERENCES tokens(id),
                        csrf_token TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        last_seen_at REAL NOT NULL
                    );
                    CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
                    CREATE INDEX notices_open_deadline ON notices(deadline_at, position)
                        WHERE status IN ('issued', 'delivered', 'acknowledged', 'unable', 'disputed');
                    CREATE INDEX notices_issued ON notices(issued_at);
                    CREATE INDEX notices_partner_issued ON notices(partner_id, issued_at, status, deadline_at);
                    ALTER TABLE notices ADD COLUMN clock_from REAL;
                    """)
        }
    }

    // Sessions are the console's bookkeeping, not a request's audited change: `pool.write`, not `write`.

    public func insertConsoleSession(_ session: ConsoleSession) async throws {
        try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO console_sessions (id_hash, token_id, csrf_token, created_at, expires_at, last_seen_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        session.idHash, session.tokenID.rawValue, session.csrfToken, session.createdAt.storedValue,
                        session.expiresAt.storedValue, session.lastSeenAt.storedValue,
                    ])
            }
        }
    }

    public func consoleSession(idHash: String) async throws -> (session: ConsoleSession, credential: Credential)? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT t.*, p.suspended_at AS partner_suspended_at, s.csrf_token AS session_csrf,
                                s.created_at AS session_created_at, s.expires_at AS session_expires_at,
                                s.last_seen_at AS session_last_seen_at
                            FROM console_sessions s JOIN tokens t ON t.id = s.token_id
                            LEFT JOIN partners p ON p.id = t.partner_id
                            WHERE s.id_hash = ?
                            """),
                    arguments: [idHash]
                ).map { row in
                    let token = Self.token(from: row)
                    let session = ConsoleSession(
                        idHash: idHash, tokenID: token.id, csrfToken: row["session_csrf"],
                        createdAt: Date(stored: row["session_created_at"]),
                        expiresAt: Date(stored: row["session_expires_at"]),
                        lastSeenAt: Date(stored: row["session_last_seen_at"]))
                    return (
                        session,
                        Credential(token: token, partnerSuspended: row["partner_suspended_at"] as Double? != nil)
                    )
                }
            }
        }
    }

    public func recordConsoleSessionUse(idHash: String, at date: Date, staleBefore: Date) async throws {
        try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: "UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?",
                    arguments: [date.storedValue, idHash, staleBefore.storedValue])
            }
        }
    }

    public func deleteConsoleSession(idHash: String) async throws -> Bool {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM console_sessions WHERE id_hash = ?", arguments: [idHash])
                return db.changesCount > 0
            }
        }
    }

    public func deleteConsoleSessions(expiredAt now: Date, idleBefore: Date) async throws -> Int {
        try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: "DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at < ?",
                    arguments: [now.storedValue, idleBefore.storedValue])
                return db.changesCount
            }
        }
    }
}
