import Foundation
import Hummingbird
import Synchronization
import TakedownService

/// Unauthenticated routes: health, readiness, public keys and the API description.
struct DiscoveryController {
    let gateway: Gateway
    let settings: APISettings

    func register(on router: Router<GatewayRequestContext>) {
        router.get("healthz", use: health)
        router.get("readyz", use: ready)
        router.get(".well-known/jwks.json", use: jwks)
        router.get("openapi.json", use: openAPI)
        router.get("metrics", use: metrics)
    }

    /// Prometheus text exposition, for a scraper holding the metrics token; without a token set, the API
    /// port serves none (`TAKEDOWN_METRICS_ADDR` serves them elsewhere).
    @Sendable func metrics(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let metrics = settings.metrics, let token = settings.metricsToken else {
            throw APIError.notFound("metrics are not served on this port")
        }
        let presented = request.headers[values: .authorization]
        guard presented.count == 1, let header = presented.first,
            Self.equalInConstantTime(Array(header.utf8), Array("Bearer \(token)".utf8))
        else { throw APIError.unauthorized }
        return .bytes(Array(await metrics().utf8), type: "text/plain; version=0.0.4; charset=utf-8")
    }

    /// What `body` returns if it returns within `limit`, else nil without waiting for it.
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        let answer = FirstAnswer<T>()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            Task { answer.give(await body()) }
            Task {
                try? await Task.sleep(for: limit)
                answer.give(nil)
            }
        }
    }

    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    struct Status: Encodable {
        var status: String
        var checks: [String: String]?
    }

    @Sendable func health(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try .json(Status(status: "ok"))
    }

    /// Ready when the store answers, a signing key is loaded and the templates parsed (they did, or the
    /// gateway would not have started).
    @Sendable func ready(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var checks = ["templates": "ok"]
        // A database that accepts connections but never answers must not hold the probe: 3 s at most. The
        // ping is left to finish on its own (a driver may not give up when cancelled).
        let store = gateway.store
        let answered = await Self.within(.seconds(3)) { (try? await store.ping()) != nil }
        checks["store"] = answered == true ? "ok" : "unreachable"
        checks["keys"] = gateway.signingKeyProblem ?? "ok"
        let ready = checks.values.allSatisfy { $0 == "ok" }
        return try .json(
            Status(status: ready ? "ready" : "not ready", checks: checks), status: ready ? .ok : .serviceUnavailable)
    }

    @Sendable func jwks(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var response = try Response.json(gateway.jwks)
        response.headers[.contentType] = "application/jwk-set+json"
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }

    @Sendable func openAPI(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let data = settings.openAPIDocument else {
            throw APIError.notFound("this gateway serves no API description")
        }
        return .bytes(data, type: "application/json")
    }
}

/// A continuation resumed by whichever answer comes first; later answers are dropped.
final class FirstAnswer<T: Sendable>: Sendable {
    private let pending = Mutex<CheckedContinuation<T?, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<T?, Never>) {
        pending.withLock { $0 = continuation }
    }

    func give(_ value: T?) {
        pending.withLock { $0.take() }?.resume(returning: value)
    }
}
