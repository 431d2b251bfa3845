import HTTPTypes
import Hummingbird

/// Limits callers without a token, per client address, on the routes outside `/v1` and the console (health
/// checks excepted, so a load balancer is never refused). `/v1` is limited per token by `AuthMiddleware`.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let settings: APISettings

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        // The console is limited per signed-in token by `ConsoleMiddleware`; its sign-in form, per address.
        let console = path.hasPrefix("/console/") && path != "/console/sign-in"
        if path == "/healthz" || path == "/readyz" || path == "/v1" || path.hasPrefix("/v1/") || console {
            return try await next(request, context)
        }
        let headers = try RateLimitMiddleware.charge(anonymous: context.clientAddress, settings)
        var response = try await next(request, context)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// Takes one request from an anonymous caller's bucket: the headers to answer with, or 429.
    static func charge(anonymous address: String, _ settings: APISettings) throws -> HTTPFields {
        guard let limit = settings.rateLimits.anonymous else { return [:] }
        return try charge("addr:\(address)", limit, settings)
    }

    /// Takes one request from `key`'s bucket: the RateLimit headers, or 429 carrying them.
    static func charge(_ key: String, _ limit: RateLimit, _ settings: APISettings) throws -> HTTPFields {
        let decision = settings.rateLimiter.take(key, limit)
        let headers: HTTPFields = [
            Self.limit: String(decision.limit), Self.remaining: String(decision.remaining),
            Self.reset: String(decision.reset),
        ]
        guard decision.allowed else {
            throw APIError.tooManyRequests(
                "this caller may send \(limit.perSecond.formatted()) requests a second (bursts of \(limit.burst)); "
                    + "retry after \(decision.reset) s",
                retryAfter: decision.reset, headers: headers)
        }
        return headers
    }

    static let limit = HTTPField.Name("RateLimit-Limit")!
    static let remaining = HTTPField.Name("RateLimit-Remaining")!
    static let reset = HTTPField.Name("RateLimit-Reset")!
}
