import Foundation
import TakedownModel
import TakedownStore

extension AuditDesk {
    /// A page of the audit trail after a cursor, oldest first, filtered by actor and target.
    public func auditEntries(actor: String?, target: String?, after cursor: String?, limit: Int) async throws
        -> (entries: [AuditEntry], nextCursor: String)
    {
        let after = try Gateway.position(after: cursor)
        let rows = try await store.auditEntries(actor: actor, target: target, after: after, limit: limit)
        return (rows.map(\.entry), Cursor.encode(rows.last?.position ?? after))
    }
}
