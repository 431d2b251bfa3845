import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/audit`: the trail of staff changes, for admins.
struct AuditController {
    let auditDesk: AuditDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("audit", use: list)
    }

    struct Listing: Encodable {
        var entries: [AuditEntry]
        var nextCursor: String
    }

    /// `?actor=admin:Name&target=ptn_…&after=CURSOR&limit=N`, oldest first.
    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let limit = try request.limit(default: 100, max: 1_000)
        for name in ["actor", "target"] where (request.query(name)?.utf8.count ?? 0) > 300 {
            throw APIError.badParameter(name, "must be at most 300 characters")
        }
        let page = try await auditDesk.auditEntries(
            actor: request.query("actor"), target: request.query("target"), after: request.query("after"),
            limit: limit)
        return try .json(Listing(entries: page.entries, nextCursor: page.nextCursor))
    }
}
