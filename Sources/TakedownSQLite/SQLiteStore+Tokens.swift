import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertToken(_ token: TokenRecord) async throws {
        try await guarded { try await write { db in try Self.insert(token, db) } }
    }

    public func token(secretHash: String) async throws -> TokenRecord? {
        try await credential(secretHash: secretHash)?.token
    }

    public func credential(secretHash: String) async throws -> Credential? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT t.*, p.suspended_at AS partner_suspended_at FROM tokens t
                            LEFT JOIN partners p ON p.id = t.partner_id
                            WHERE t.secret_hash = ?
                            """),
                    arguments: [secretHash]
                ).map { row in
                    Credential(
                        token: Self.token(from: row), partnerSuspended: row["partner_suspended_at"] as Double? != nil)
                }
            }
        }
    }

    public func revokeToken(_ id: TokenID, at date: Date) async throws -> Bool {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    arguments: [date.storedValue, id.rawValue])
                return db.changesCount > 0
            }
        }
    }

    public func hasAdmin(at now: Date) async throws -> Bool {
        try await guarded { try await pool.read { db in try Self.hasAdmin(at: now, db) } }
    }

    public func insertBootstrapAdmin(_ token: TokenRecord, now: Date) async throws -> BootstrapOutcome {
        try await guarded {
            // One writer at a time: the checks and the insert cannot interleave with another instance's.
            try await write { db in
                if try Self.hasAdmin(at: now, db) { return .adminExists }
                if try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM tokens WHERE secret_hash = ?)",
                    arguments: [token.secretHash]) == true
                {
                    return .secretUsed
                }
                try Self.insert(token, db)
                return .created
            }
        }
    }

    public func recordTokenUse(_ id: TokenID, at date: Date, staleBefore: Date) async throws {
        try await guarded {
            // Not `write`: noting a use is the gateway's bookkeeping, never the audited change of a request.
            try await pool.write { db in
                try db.execute(
                    sql:
                        "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                    arguments: [date.storedValue, id.rawValue, staleBefore.storedValue])
            }
        }
    }

    public func tokens(after position: Int64, limit: Int, partner: PartnerID?) async throws -> [TokenPage.Entry] {
        try await guarded {
            try await pool.read { db in
                let rows: [Row]
                if let partner {
                    rows = try Row.fetchAll(
                        db,
                        sql: "SELECT * FROM tokens WHERE partner_id = ? AND position > ? ORDER BY position LIMIT ?",
                        arguments: [partner.rawValue, position, limit])
                } else {
                    rows = try Row.fetchAll(
                        db, sql: "SELECT * FROM tokens WHERE position > ? ORDER BY position LIMIT ?",
                        arguments: [position, limit])
                }
                return rows.map { TokenPage.Entry(position: $0["position"], token: Self.token(from: $0)) }
            }
        }
    }

    static func hasAdmin(at now: Date, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin' AND revoked_at IS NULL
                               AND (expires_at IS NULL OR expires_at > ?))
                """,
            arguments: [now.storedValue]) ?? false
    }

    /// Inserts a token at the next position (one writer at a time, so `MAX + 1` is taken once).
    static func insert(_ token: TokenRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO tokens (id, role, name, partner_id, secret_hash, created_at, revoked_at, expires_at,
                                    last_used_at, position)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM tokens))
                """,
            arguments: [
                token.id.rawValue, token.role.rawValue, token.name, token.partnerID?.rawValue, token.secretHash,
                token.createdAt.storedValue, token.revokedAt?.storedValue, token.expiresAt?.storedValue,
                token.lastUsedAt?.storedValue,
            ])
    }

    static func token(from row: Row) -> TokenRecord {
        TokenRecord(
            id: TokenID(rawValue: row["id"]), role: TokenRole(rawValue: row["role"]) ?? .partner, name: row["name"],
            partnerID: (row["partner_id"] as String?).map(PartnerID.init(rawValue:)), secretHash: row["secret_hash"],
            createdAt: Date(stored: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(stored:)),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(stored:)),
            lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(stored:)))
    }
}
