import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    static let consoleSessionSchema = [
        """
        CREATE TABLE console_sessions (
            id_hash text PRIMARY KEY,
            token_id text NOT NULL REFERENCES tokens(id),
            csrf_token text NOT NULL,
            created_at double precision NOT NULL,
            expires_at double precision NOT NULL,
            last_seen_at double precision NOT NULL
        )
        """,
        "CREATE INDEX console_sessions_expiry ON console_sessions(expires_at)",
        """
        CREATE INDEX notices_open_deadline ON notices(deadline_at, position)
        WHERE status IN ('issued', 'delivered', 'acknowledged', 'unable', 'disputed')
        """,
        "CREATE INDEX notices_issued ON notices(issued_at)",
        "CREATE INDEX notices_partner_issued ON notices(partner_id, issued_at, status, deadline_at)",
        // Set when a decision upholding a dispute restarts the removal clock.
        "ALTER TABLE notices ADD COLUMN clock_from double precision",
    ]

    // Sessions are the console's bookkeeping, not a request's audited change: single statements, each
    // committed on its own, outside `transaction`.

    public func insertConsoleSession(_ session: ConsoleSession) async throws {
        _ = try await rows(
            """
            INSERT INTO console_sessions (id_hash, token_id, csrf_token, created_at, expires_at, last_seen_at)
            VALUES (\(session.idHash), \(session.tokenID.rawValue), \(session.csrfToken),
                \(session.createdAt.stored), \(session.expiresAt.stored), \(session.lastSeenAt.stored))
            """)
    }

    public func consoleSession(idHash: String) async throws -> (session: ConsoleSession, credential: Credential)? {
        guard
            let row = try await rows(
                """
                SELECT t.*, p.suspended_at AS partner_suspended_at, s.csrf_token AS session_csrf,
                    s.created_at AS session_created_at, s.expires_at AS session_expires_at,
                    s.last_seen_at AS session_last_seen_at
                FROM console_sessions s JOIN tokens t ON t.id = s.token_id
                LEFT JOIN partners p ON p.id = t.partner_id
                WHERE s.id_hash = \(idHash)
                """
            ).first
        else { return nil }
        let token = try Self.token(from: row)
        let session = ConsoleSession(
            idHash: idHash, tokenID: token.id, csrfToken: try row.get("session_csrf"),
            createdAt: try row.date("session_created_at"), expiresAt: try row.date("session_expires_at"),
            lastSeenAt: try row.date("session_last_seen_at"))
        let suspended = try row.get("partner_suspended_at", as: Double?.self) != nil
        return (session, Credential(token: token, partnerSuspended: suspended))
    }

    public func recordConsoleSessionUse(idHash: String, at date: Date, staleBefore: Date) async throws {
        _ = try await rows(
            """
            UPDATE console_sessions SET last_seen_at = \(date.stored)
            WHERE id_hash = \(idHash) AND last_seen_at < \(staleBefore.stored)
            """)
    }

    public func deleteConsoleSession(idHash: String) async throws -> Bool {
        try await !rows("DELETE FROM console_sessions WHERE id_hash = \(idHash) RETURNING 1").isEmpty
    }

    public func deleteConsoleSessions(expiredAt now: Date, idleBefore: Date) async throws -> Int {
        try await rows(
            """
            DELETE FROM console_sessions WHERE expires_at <= \(now.stored) OR last_seen_at < \(idleBefore.stored)
            RETURNING 1
            """
        ).count
    }
}
