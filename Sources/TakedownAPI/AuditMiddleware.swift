import Foundation
import Hummingbird
import NIOCore
import TakedownModel
import TakedownService
import TakedownStore

/// Opens an audit scope around every change a staff token asks for: the store writes the entry in the
/// same transaction as the change (see `AuditStore`), so a change without its entry cannot commit.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let auditDesk: AuditDesk
    let settings: APISettings

    /// How much of the request body the entry keeps as its summary.
    static let summaryLimit = 2_000

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let principal = context.principal, ![.get, .head, .options].contains(request.method) else {
            return try await next(request, context)
        }
        let template = context.endpointPath ?? request.uri.path
        // Staff changes, and a partner's changes to its own account (tokens, webhook, secret, contact); a
        // partner's answers to notices are on the notices' timelines instead.
        guard principal.isStaff || Self.isSelfService(template) else { return try await next(request, context) }
        var request = request
        // Read once here (bounded in size and time) and handed on: the handler reads the same bytes.
        let body = try await BodyReader.collect(request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        request.body = .init(buffer: body)
        let entry = AuditEntry(
            actor: principal.actor, tokenId: principal.tokenID, at: auditDesk.now(),
            action: "\(request.method) \(template)", target: Self.target(template, context.parameters),
            summary: Self.summary(body), client: context.clientAddress)
        return try await AuditScope.$current.withValue(AuditScope(entry)) {
            try await next(request, context)
        }
    }

    /// The value of the last `{parameter}` of the route: the resource the change is made to.
    static func isSelfService(_ template: String) -> Bool {
        template.hasPrefix("/v1/partners/") || template.hasPrefix("/v1/tokens")
    }

    static func target(_ template: String, _ parameters: Parameters) -> String? {
        guard let open = template.lastIndex(of: "{"), let close = template[open...].firstIndex(of: "}") else {
            return nil
        }
        return parameters.get(String(template[template.index(after: open)..<close]))
    }

    static func summary(_ body: ByteBuffer) -> String {
        guard body.readableBytes > 0 else { return "" }
        guard let text = body.getString(at: body.readerIndex, length: min(body.readableBytes, summaryLimit)) else {
            return "(\(body.readableBytes) bytes)"
        }
        return body.readableBytes > summaryLimit ? text + "… (\(body.readableBytes) bytes)" : text
    }
}
