import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertToken(_ token: TokenRecord) async throws {
        try await guarded { try await pool.write { db in try Self.insert(token, db) } }
    }

    public func token(secretHash: String) async throws -> TokenRecord? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE secret_hash = ?", arguments: [secretHash])
                    .map(Self.token(from:))
            }
        }
    }

    public func revokeToken(_ id: TokenID, at date: Date) async throws -> Bool {
        try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    arguments: [date.storedValue, id.rawValue])
                return db.changesCount > 0
            }
        }
    }

    public func hasAdmin() async throws -> Bool {
        try await guarded {
            try await pool.read { db in
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin' AND revoked_at IS NULL)")
                    ?? false
            }
        }
    }

    static func insert(_ token: TokenRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO tokens (id, role, name, partner_id, secret_hash, created_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                token.id.rawValue, token.role.rawValue, token.name, token.partnerID?.rawValue, token.secretHash,
                token.createdAt.storedValue, token.revokedAt?.storedValue,
            ])
    }

    static func token(from row: Row) -> TokenRecord {
        TokenRecord(
            id: TokenID(rawValue: row["id"]), role: TokenRole(rawValue: row["role"]) ?? .partner, name: row["name"],
            partnerID: (row["partner_id"] as String?).map(PartnerID.init(rawValue:)), secretHash: row["secret_hash"],
            createdAt: Date(stored: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(stored:)))
    }
}
