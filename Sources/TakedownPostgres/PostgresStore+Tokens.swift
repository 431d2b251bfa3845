import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func insertToken(_ token: TokenRecord) async throws {
        try await transaction { try await Self.insert(token, $0) }
    }

    public func token(secretHash: String) async throws -> TokenRecord? {
        try await rows("SELECT * FROM tokens WHERE secret_hash = \(secretHash)").first.map(Self.token(from:))
    }

    public func revokeToken(_ id: TokenID, at date: Date) async throws -> Bool {
        try await transaction { transaction in
            try await transaction.count(
                """
                UPDATE tokens SET revoked_at = \(date.stored) WHERE id = \(id.rawValue) AND revoked_at IS NULL
                RETURNING 1
                """) > 0
        }
    }

    public func hasAdmin() async throws -> Bool {
        try await rows(
            "SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin' AND revoked_at IS NULL) AS found"
        ).first?.get("found") ?? false
    }

    static func insert(_ token: TokenRecord, _ transaction: Transaction) async throws {
        try await transaction.run(
            """
            INSERT INTO tokens (id, role, name, partner_id, secret_hash, created_at, revoked_at)
            VALUES (\(token.id.rawValue), \(token.role.rawValue), \(token.name), \(token.partnerID?.rawValue),
                    \(token.secretHash), \(token.createdAt.stored), \(token.revokedAt?.stored))
            """)
    }

    static func token(from row: PostgresRandomAccessRow) throws -> TokenRecord {
        TokenRecord(
            id: TokenID(rawValue: try row.get("id")), role: TokenRole(rawValue: try row.get("role")) ?? .partner,
            name: try row.get("name"),
            partnerID: try row.get("partner_id", as: String?.self).map(PartnerID.init(rawValue:)),
            secretHash: try row.get("secret_hash"), createdAt: try row.date("created_at"),
            revokedAt: try row.optionalDate("revoked_at"))
    }
}
