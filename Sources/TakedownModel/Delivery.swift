import Foundation

public struct DeliveryID: PrefixedIdentifier {
    public static let prefix = "dlv_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public enum DeliveryChannel: String, Codable, Sendable, CaseIterable {
    case webhook
    case email
    /// A signed referral, or a referral's status update, posted as a compact JWS to a peer hotline's gateway.
    case referral
}

/// Where a delivery is in the outbox.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
    /// Never attempted; due at `nextAttemptAt`.
    case pending
    /// Claimed by a worker holding the lease.
    case inFlight = "in_flight"
    case succeeded
    /// The last attempt failed; another is due at `nextAttemptAt`.
    case failed
    /// No attempts left, or the endpoint said it is gone: only staff can send it again.
    case dead
    /// The partner's channel was removed before it went out (`lastError` says which); never sent again.
    case cancelled
}

/// One outbox row: an event for one channel endpoint of a partner. The body is fixed when the row is
/// written, so every retry sends the same bytes under the same `eventId` (the `webhook-id`).
public struct Delivery: Codable, Sendable, Equatable {
    public var id: DeliveryID
    /// The notice the event is about: one of ours, or, for a referral's status update, the sender's notice
    /// (the referral's `jti`) that the update reports on.
    public var noticeId: NoticeID
    public var partnerId: PartnerID
    public var channel: DeliveryChannel
    /// The webhook URL or email address, as it was when the event was written.
    public var endpoint: String
    public var eventType: String
    public var eventId: String
    public var payload: Data
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date
    /// Fencing token: raised by every claim; a completion must carry the current value.
    public var leaseToken: Int64
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var lastError: String?
    public var lastStatus: Int?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: DeliveryID = .generate(), noticeId: NoticeID, partnerId: PartnerID, channel: DeliveryChannel,
        endpoint: String, eventType: String, eventId: String, payload: Data, state: DeliveryState = .pending,
        attempts: Int = 0, nextAttemptAt: Date, leaseToken: Int64 = 0, leaseOwner: String? = nil,
        leaseExpiresAt: Date? = nil, lastError: String? = nil, lastStatus: Int? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.noticeId = noticeId
        self.partnerId = partnerId
        self.channel = channel
        self.endpoint = endpoint
        self.eventType = eventType
        self.eventId = eventId
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.leaseToken = leaseToken
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.lastError = lastError
        self.lastStatus = lastStatus
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One try at sending a delivery, kept for operators.
public struct DeliveryAttempt: Codable, Sendable, Equatable {
    public var number: Int
    public var at: Date
    public var statusCode: Int?
    public var latencyMs: Int
    public var error: String?
    /// At most 2 KiB of what the receiver answered.
    public var responseExcerpt: String?

    public init(number: Int, at: Date, statusCode: Int?, latencyMs: Int, error: String?, responseExcerpt: String?) {
        self.number = number
        self.at = at
        self.statusCode = statusCode
        self.latencyMs = latencyMs
        self.error = error
        self.responseExcerpt = responseExcerpt
    }
}

/// What became of an attempt, as the worker decided it.
public enum DeliveryOutcome: Sendable, Equatable {
    case succeeded
    case retry(at: Date, error: String)
    case dead(error: String)
    /// The endpoint answered 410 Gone: the delivery is dead and the endpoint disabled.
    case endpointGone(error: String)

    /// What a delivery stores after this outcome at `now`: its state, when it is next due, and its last error.
    /// The one rule for every store.
    public func stored(at now: Date) -> (state: DeliveryState, nextAttemptAt: Date, error: String?) {
        switch self {
        case .succeeded: (.succeeded, now, nil)
        case .retry(let at, let error): (.failed, at, error)
        case .dead(let error), .endpointGone(let error): (.dead, now, error)
        }
    }
}

/// The health of one channel endpoint of a partner.
public struct EndpointState: Codable, Sendable, Equatable {
    public var partnerId: PartnerID
    public var channel: DeliveryChannel
    public var endpoint: String
    /// Since when every attempt has failed; nil after a success.
    public var failingSince: Date?
    public var lastSuccessAt: Date?
    /// Set when deliveries kept dying with no success for the configured time.
    public var pausedAt: Date?
    /// Set when the endpoint answered 410 Gone.
    public var disabledAt: Date?

    public init(
        partnerId: PartnerID, channel: DeliveryChannel, endpoint: String, failingSince: Date? = nil,
        lastSuccessAt: Date? = nil, pausedAt: Date? = nil, disabledAt: Date? = nil
    ) {
        self.partnerId = partnerId
        self.channel = channel
        self.endpoint = endpoint
        self.failingSince = failingSince
        self.lastSuccessAt = lastSuccessAt
        self.pausedAt = pausedAt
        self.disabledAt = disabledAt
    }

    /// The endpoint after an attempt's outcome at `now`, the one rule for every store: a success clears the
    /// failing streak; a failure starts one, or pauses the endpoint once it has lasted `pauseAfter`; 410 Gone
    /// disables it. A pause or a disabling, once set, stays until staff or the partner resume the endpoint.
    public mutating func record(_ outcome: DeliveryOutcome, at now: Date, pauseAfter: TimeInterval) {
        switch outcome {
        case .succeeded:
            failingSince = nil
            lastSuccessAt = now
        case .retry, .dead:
            let since = failingSince ?? now
            failingSince = since
            if pausedAt == nil, since <= now.addingTimeInterval(-pauseAfter) { pausedAt = now }
        case .endpointGone:
            failingSince = failingSince ?? now
            disabledAt = now
        }
    }
}
