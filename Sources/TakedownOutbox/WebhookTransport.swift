import AsyncHTTPClient
import Foundation
import NIOCore
import TakedownModel
import TakedownSigning

/// POSTs a delivery's event body with Standard Webhooks headers. 2xx is success; redirects are not
/// followed; the request times out after the configured time. The endpoint's host is resolved and
/// checked by the target guard for every delivery, and the request goes to an address it approved.
public struct WebhookTransport: DeliveryTransport {
    let clients: PinnedClients
    let timeout: TimeInterval
    let guardrail: TargetGuard

    /// Connections per host are raised from async-http-client's default of 8 for parallel delivery.
    public init(
        timeout: TimeInterval, allowPrivateTargets: Bool, allowedTargets: [IPRange] = [], connectionsPerHost: Int = 64
    ) {
        self.init(
            timeout: timeout, guard: TargetGuard(allowPrivate: allowPrivateTargets, allowed: allowedTargets),
            connectionsPerHost: connectionsPerHost)
    }

    /// `cachedTargets` bounds the clients kept for (host, approved address) pairs; past it the least
    /// recently used idle one is shut down.
    public init(timeout: TimeInterval, guard: TargetGuard, connectionsPerHost: Int = 64, cachedTargets: Int = 256) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(
            connect: .milliseconds(Int64(min(timeout, 5) * 1000)), read: .milliseconds(Int64(timeout * 1000)))
        clients = PinnedClients(configuration: configuration, capacity: cachedTargets)
        self.timeout = timeout
        guardrail = `guard`
    }

    public func shutdown() async throws {
        await clients.shutdown()
    }

    /// How many pinned clients are cached (one per host and approved address in use).
    var cachedClients: Int { clients.count }

    public func send(_ delivery: Delivery, secrets: [String], now: Date) async -> TransportResult {
        // The host as async-http-client will read it from the URL, so the pin matches its lookup key.
        guard let url = URL(string: delivery.endpoint), let host = url.host, !host.isEmpty,
            let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { return TransportResult(error: "not an http(s) URL: \(delivery.endpoint)", refused: true) }
        // A referral (or its update) is a compact JWS: its signature is the authentication.
        let isReferral = delivery.channel == .referral
        guard isReferral || !secrets.isEmpty else {
            return TransportResult(error: "the partner has no webhook secret", refused: true)
        }
        let target: ApprovedTarget
        switch await guardrail.check(host: host, within: timeout) {
        case .approved(let approved): target = approved
        case .refused(let reason): return TransportResult(error: "target refused: \(reason)", refused: true)
        case .unresolvable(let permanent):
            // Nothing is contacted; the retry schedule decides when to look again.
            return TransportResult(
                error: permanent ? "\(host) does not exist (DNS)" : "DNS lookup of \(host) failed for now")
        }

        let timestamp = Int(now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: delivery.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: isReferral ? "application/jose" : "application/json")
        request.headers.add(name: "User-Agent", value: "takedown-gateway/1")
        request.headers.add(name: "webhook-id", value: delivery.eventId)
        request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
        if !isReferral {
            do {
                request.headers.add(
                    name: "webhook-signature",
                    value: try WebhookSignature.header(
                        id: delivery.eventId, timestamp: timestamp, body: delivery.payload, secrets: secrets))
            } catch {
                return TransportResult(error: "a webhook secret is malformed", refused: true)
            }
        }
        request.body = .bytes(ByteBuffer(bytes: delivery.payload))

        let started = ContinuousClock.now
        func elapsed() -> Int {
            let duration = ContinuousClock.now - started
            return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        do {
            // One deadline for the attempt, whichever of the approved addresses answers.
            let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
            let (status, retryAfter, excerpt) = try await clients.withClient(for: target) { client in
                let response = try await client.execute(request, deadline: deadline)
                var body = try await response.body.collect(upTo: 64 * 1024)
                return (
                    Int(response.status.code), response.headers.first(name: "Retry-After"),
                    body.readString(length: min(body.readableBytes, 2048))
                )
            }
            return TransportResult(
                statusCode: status, retryAfter: RetryPolicy.retryAfter(retryAfter, now: now),
                error: (200...299).contains(status) ? nil : "HTTP \(status)",
                responseExcerpt: excerpt, latencyMs: elapsed())
        } catch {
            return TransportResult(error: Self.describe(error), latencyMs: elapsed())
        }
    }

    /// GETs a small document (a peer's JWKS) through the same target guard: at most `limit` bytes, 2xx only.
    public func fetch(_ address: String, limit: Int = 256 * 1024) async throws -> Data {
        let answer = try await get(address, accept: "application/json", limit: limit)
        guard (200...299).contains(answer.status) else { throw FetchError("\(address) answered HTTP \(answer.status)") }
        return answer.body
    }

    /// GETs a document through the target guard: its status, at most `limit` bytes of body, and its
    /// `Cache-Control`. Redirects are not followed.
    public func get(_ address: String, accept: String, limit: Int) async throws -> (
        status: Int, body: Data, cacheControl: String?
    ) {
        guard let url = URL(string: address), let host = url.host, !host.isEmpty,
            let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { throw FetchError("not an http(s) URL: \(address)") }
        let target: ApprovedTarget
        switch await guardrail.check(host: host, within: timeout) {
        case .approved(let approved): target = approved
        case .refused(let reason): throw FetchError("target refused: \(reason)")
        case .unresolvable: throw FetchError("\(host) could not be resolved")
        }
        var request = HTTPClientRequest(url: address)
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "takedown-gateway/1")
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        do {
            return try await clients.withClient(for: target) { client in
                let response = try await client.execute(request, deadline: deadline)
                let body = try await response.body.collect(upTo: limit)
                return (
                    Int(response.status.code), Data(body.readableBytesView),
                    response.headers.first(name: "Cache-Control")
                )
            }
        } catch let error as FetchError {
            throw error
        } catch {
            throw FetchError("\(address): \(Self.describe(error))")
        }
    }

    public struct FetchError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
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
