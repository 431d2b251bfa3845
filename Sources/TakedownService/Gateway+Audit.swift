import Foundation
import TakedownModel
import TakedownStore

extension Gateway {
    /// A page of the audit trail after a cursor, oldest first, filtered by actor and target.
    public func auditEntries(actor: String?, target: String?, after cursor: String?, limit: Int) async throws
        -> (entries: [AuditEntry], nextCursor: String)
    {
        var after: Int64 = 0
        if let cursor {
            guard let position = Cursor.decode(cursor) else {
                throw GatewayError.badParameter(name: "after", reason: "is not a cursor this gateway issued")
            }
            after = position
        }
        let rows = try await store.auditEntries(actor: actor, target: target, after: after, limit: limit)
        return (rows.map(\.entry), Cursor.encode(rows.last?.position ?? after))
    }
}
