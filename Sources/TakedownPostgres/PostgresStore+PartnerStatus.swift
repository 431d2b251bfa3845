import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func suspendPartner(_ id: PartnerID, reason: String, at date: Date) async throws -> (
        Partner, changed: Bool
    )? {
        try await transaction { transaction in
            let changed = try await transaction.count(
                """
                UPDATE partners SET suspended_at = \(date.stored), suspension_reason = \(reason),
                       updated_at = \(date.stored)
                WHERE id = \(id.rawValue) AND suspended_at IS NULL
                RETURNING 1
                """)
            return try await Self.partner(id, changed: changed > 0, transaction)
        }
    }

    public func reactivatePartner(_ id: PartnerID, at date: Date) async throws -> (Partner, changed: Bool)? {
        try await transaction { transaction in
            let changed = try await transaction.count(
                """
                UPDATE partners SET suspended_at = NULL, suspension_reason = NULL, updated_at = \(date.stored)
                WHERE id = \(id.rawValue) AND suspended_at IS NOT NULL
                RETURNING 1
                """)
            // Its held deliveries are due: wake every instance's worker at commit.
            if changed > 0 { try await Self.notifyOutbox(transaction) }
            return try await Self.partner(id, changed: changed > 0, transaction)
        }
    }

    private static func partner(_ id: PartnerID, changed: Bool, _ transaction: Transaction) async throws -> (
        Partner, changed: Bool
    )? {
        try await transaction.rows("SELECT * FROM partners WHERE id = \(id.rawValue)").first
            .map { (try Self.partner(from: $0), changed) }
    }
}
