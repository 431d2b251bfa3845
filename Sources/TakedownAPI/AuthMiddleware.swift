import Hummingbird
import TakedownService

/// Resolves `Authorization: Bearer …` to a principal; routes decide what each role may do.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let gateway: Gateway

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization] else { throw APIError.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            let principal = try await gateway.authenticate(
                secret: String(parts[1]).trimmingCharacters(in: .whitespaces))
        else { throw APIError.unauthorized }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "actor"] = "\(principal.actor)"
        return try await next(request, context)
    }
}
