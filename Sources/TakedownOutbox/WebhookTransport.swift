import AsyncHTTPClient
import Foundation
import NIOCore
import TakedownModel
import TakedownSigning

/// POSTs a delivery's event body with Standard Webhooks headers. 2xx is success; redirects are not
/// followed; the request times out after the configured time.
public struct WebhookTransport: DeliveryTransport {
    let client: HTTPClient
    let timeout: TimeInterval
    let guardrail: TargetGuard

    /// Connections per host are raised from async-http-client's default of 8 for parallel delivery.
    public init(timeout: TimeInterval, allowPrivateTargets: Bool, connectionsPerHost: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(
            connect: .milliseconds(Int64(min(timeout, 5) * 1000)), read: .milliseconds(Int64(timeout * 1000)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
        guardrail = TargetGuard(allowPrivate: allowPrivateTargets)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func send(_ delivery: Delivery, secrets: [String], now: Date) async -> TransportResult {
        guard let components = URLComponents(string: delivery.endpoint), let host = components.host,
            components.scheme == "https" || components.scheme == "http"
        else { return TransportResult(error: "not an http(s) URL: \(delivery.endpoint)", refused: true) }
        if let refusal = guardrail.refusal(host: host) {
            return TransportResult(error: "target refused: \(refusal)", refused: true)
        }
        guard !secrets.isEmpty else {
            return TransportResult(error: "the partner has no webhook secret", refused: true)
        }

        let timestamp = Int(now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: delivery.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "takedown-gateway/1")
        request.headers.add(name: "webhook-id", value: delivery.eventId)
        request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
        do {
            request.headers.add(
                name: "webhook-signature",
                value: try WebhookSignature.header(
                    id: delivery.eventId, timestamp: timestamp, body: delivery.payload, secrets: secrets))
        } catch {
            return TransportResult(error: "a webhook secret is malformed", refused: true)
        }
        request.body = .bytes(ByteBuffer(bytes: delivery.payload))

        let started = ContinuousClock.now
        func elapsed() -> Int {
            let duration = ContinuousClock.now - started
            return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            var body = try await response.body.collect(upTo: 64 * 1024)
            let excerpt = body.readString(length: min(body.readableBytes, 2048))
            return TransportResult(
                statusCode: Int(response.status.code),
                retryAfter: RetryPolicy.retryAfter(response.headers.first(name: "Retry-After"), now: now),
                error: (200...299).contains(Int(response.status.code)) ? nil : "HTTP \(response.status.code)",
                responseExcerpt: excerpt, latencyMs: elapsed())
        } catch {
            return TransportResult(error: Self.describe(error), latencyMs: elapsed())
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .bodyLengthMismatch: return "the receiver answered a body of the wrong length"
            default: return "HTTP client error: \(error)"
            }
        }
        return "\(error)"
    }
}
