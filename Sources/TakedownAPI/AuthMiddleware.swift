import Foundation
import HTTPTypes
import Hummingbird
import TakedownModel
import TakedownService

/// Resolves `Authorization: Bearer …` (and, under a hash list's NCMEC base URL, `Basic` with a partner's id
/// and token) to a principal; routes decide what each role may do.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let tokenDesk: TokenDesk
    let settings: APISettings

    /// A request without a valid token is charged to its address's anonymous bucket before the 401, so
    /// guessing tokens is as slow as any other anonymous traffic; one with a token, to that token's bucket.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let basic = NCMECController.isDialect(request.uri.path)
        guard let principal = try await authenticate(request.headers[values: .authorization], basic: basic) else {
            _ = try RateLimitMiddleware.charge(anonymous: context.clientAddress, settings)
            throw APIError.unauthorized
        }
        var headers: HTTPFields = [:]
        if let limit = settings.rateLimits.limit(for: principal) {
            headers = try RateLimitMiddleware.charge("token:\(principal.tokenID)", limit, settings)
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "actor"] = "\(principal.actor)"
        context.note.actor = principal.actor
        var response = try await next(request, context)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The caller named by exactly one `Authorization: Bearer …` header, or with `basic`, by
    /// `Authorization: Basic …` naming a partner's id and one of its tokens; nil for anything else.
    private func authenticate(_ values: [String], basic: Bool) async throws -> Principal? {
        guard values.count == 1, let header = values.first, header.utf8.count <= 512 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let credentials = String(parts[1]).trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "bearer":
            return try await tokenDesk.authenticate(secret: credentials)
        case "basic" where basic:
            guard let decoded = Data(base64Encoded: credentials), let text = String(data: decoded, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else { return nil }
            let user = text[..<colon]
            guard let principal = try await tokenDesk.authenticate(secret: String(text[text.index(after: colon)...])),
                let partner = principal.partnerID, partner.rawValue == user
            else { return nil }
            return principal
        default:
            return nil
        }
    }
}
