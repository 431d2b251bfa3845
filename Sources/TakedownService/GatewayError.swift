import TakedownModel
import TakedownStore

/// What a gateway operation refuses, independent of HTTP; the API maps each case to a status once.
public enum GatewayError: Error, Equatable, Sendable {
    /// No such resource, or one the caller may not see (never reveal which).
    case notFound(String)
    /// The caller's role may not do this.
    case forbidden(String)
    /// The request is well-formed but contradicts the resource's state.
    case conflict(String)
    /// Fields at fault.
    case invalid(ValidationError)
    /// An `Idempotency-Key` reused with a different request body.
    case idempotencyMismatch
    /// Gone for good: a cursor or version older than what the gateway keeps; the detail says how to resync.
    case gone(String)
    /// A query parameter at fault (cursor, limit, filter).
    case badParameter(name: String, reason: String)
    /// A signed message from a peer whose signature does not hold: a bad signature, or a key the sender
    /// never published.
    case signatureRefused(String)
    /// The store did not answer or refused the operation: the detail is for the log, not the caller.
    case unavailable(String)
}

extension GatewayError {
    /// The one mapping of what the layers below throw into what a gateway operation refuses: the store's
    /// errors and a validation failure become gateway errors, so the API maps one error type, once.
    /// Nil for anything else (a fault of the gateway itself, or an HTTP framing error).
    public init?(_ error: any Error) {
        switch error {
        case let error as GatewayError: self = error
        case let error as ValidationError: self = .invalid(error)
        case StoreError.notFound: self = .notFound("the resource")
        case StoreError.conflict(let detail): self = .conflict(detail)
        case StoreError.unavailable(let detail): self = .unavailable(detail)
        default: return nil
        }
    }
}
