import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func suspendPartner(_ id: PartnerID, reason: String, at date: Date) async throws -> (
        Partner, changed: Bool
    )? {
        try await setSuspension(
            id,
            sql: """
                UPDATE partners SET suspended_at = ?, suspension_reason = ?, updated_at = ?
                WHERE id = ? AND suspended_at IS NULL
                """,
            arguments: [date.storedValue, reason, date.storedValue, id.rawValue])
    }

    public func reactivatePartner(_ id: PartnerID, at date: Date) async throws -> (Partner, changed: Bool)? {
        try await setSuspension(
            id,
            sql: """
                UPDATE partners SET suspended_at = NULL, suspension_reason = NULL, updated_at = ?
                WHERE id = ? AND suspended_at IS NOT NULL
                """,
            arguments: [date.storedValue, id.rawValue])
    }

    /// Runs a conditional update of one partner's status and reads the partner back in the same transaction.
    private func setSuspension(_ id: PartnerID, sql: String, arguments: StatementArguments) async throws -> (
        Partner, changed: Bool
    )? {
        try await guarded {
            try await write { db in
                try db.execute(sql: sql, arguments: arguments)
                let changed = db.changesCount > 0
                return try Row.fetchOne(db, sql: "SELECT * FROM partners WHERE id = ?", arguments: [id.rawValue])
                    .map { (try Self.partner(from: $0), changed) }
            }
        }
    }
}
