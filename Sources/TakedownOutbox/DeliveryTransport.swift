import Foundation
import TakedownModel

/// Sends one delivery over one channel.
public protocol DeliveryTransport: Sendable {
    func send(_ delivery: Delivery, secrets: [String], now: Date) async -> TransportResult
}

/// What one attempt got back.
public struct TransportResult: Sendable, Equatable {
    public var statusCode: Int?
    public var retryAfter: TimeInterval?
    public var error: String?
    public var responseExcerpt: String?
    public var latencyMs: Int
    /// The target may never be contacted (private address, bad URL): retrying cannot help.
    public var refused: Bool
    /// Set by transports whose success is not an HTTP status (SMTP's 250).
    public var accepted: Bool?

    public init(
        statusCode: Int? = nil, retryAfter: TimeInterval? = nil, error: String? = nil, responseExcerpt: String? = nil,
        latencyMs: Int = 0, refused: Bool = false, accepted: Bool? = nil
    ) {
        self.accepted = accepted
        self.statusCode = statusCode
        self.retryAfter = retryAfter
        self.error = error
        self.responseExcerpt = responseExcerpt
        self.latencyMs = latencyMs
        self.refused = refused
    }

    public var succeeded: Bool { accepted ?? statusCode.map { (200...299).contains($0) } ?? false }
}
