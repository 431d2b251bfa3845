import Foundation
import TakedownModel

/// The outbox: deliveries are the queue. Workers claim with a lease and a fencing token and complete
/// only while they hold it; a rescuer returns expired leases.
public protocol DeliveryStore: Sendable {
    /// Claims due deliveries (pending or failed, `nextAttemptAt <= now`) of endpoints that are neither
    /// paused nor disabled, oldest first, never letting an endpoint have more than `perEndpointCap` in
    /// flight. Each claimed row gets a new lease token and `leaseExpiresAt = now + lease`.
    func claimDeliveries(owner: String, limit: Int, now: Date, lease: TimeInterval, perEndpointCap: Int)
        async throws -> [Delivery]
    /// Which of these leases are still held (checked just before sending).
    func heldLeases(_ leases: [DeliveryLease], now: Date) async throws -> Set<DeliveryID>
    /// Records attempts and their outcomes, in one transaction, for the deliveries whose lease token still
    /// matches; the others are skipped. Updates each endpoint's health: a success clears its failure
    /// window; failures lasting `pauseAfter` pause it; `endpointGone` disables it. Returns the ids recorded.
    func completeDeliveries(_ completions: [DeliveryCompletion], now: Date, pauseAfter: TimeInterval) async throws
        -> Set<DeliveryID>
    /// Returns deliveries whose lease expired to the queue, keeping their due time, so they go out before
    /// later rows of the same endpoint (issue order survives a crash). Returns how many.
    func rescueExpiredLeases(now: Date) async throws -> Int
    /// Who holds the leases of deliveries in flight.
    func leaseOwners() async throws -> [String]
    /// Returns the deliveries leased by `owner` (a process known to be dead) to the queue at once.
    func rescueLeases(of owner: String, now: Date) async throws -> Int

    func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryPage.Entry]
    func delivery(_ id: DeliveryID) async throws -> (Delivery, [DeliveryAttempt])?
    /// Makes a dead or failed delivery due now; nil when there is no such delivery in those states.
    func retryDelivery(_ id: DeliveryID, now: Date) async throws -> Delivery?
    /// Re-queues a partner's failed and dead deliveries created in [since, until). Returns how many.
    func requeueDeliveries(partner: PartnerID, since: Date, until: Date, now: Date) async throws -> Int
    /// Clears the pause (and the 410 disablement) of a partner's endpoints. Returns how many.
    func resumeEndpoints(partner: PartnerID, now: Date) async throws -> Int
    func endpointStates(partner: PartnerID?) async throws -> [EndpointState]
    /// Pending and failed rows, and the age of the oldest one that is due.
    func outboxStats(now: Date) async throws -> OutboxStats

    /// Stores a new webhook secret for a partner; earlier ones keep signing until `previousUntil`.
    func addWebhookSecret(partner: PartnerID, secret: String, now: Date, previousUntil: Date) async throws
    /// The secrets that sign each partner's webhooks now, newest first, in one read; a partner with none
    /// is left out.
    func webhookSecrets(partners: [PartnerID], now: Date) async throws -> [PartnerID: [String]]
}

/// A claimed delivery and the fencing token its claim got.
public struct DeliveryLease: Sendable, Hashable {
    public var id: DeliveryID
    public var token: Int64

    public init(id: DeliveryID, token: Int64) {
        self.id = id
        self.token = token
    }
}

/// One attempt's outcome, to record under the lease it was sent with.
public struct DeliveryCompletion: Sendable, Equatable {
    public var id: DeliveryID
    public var token: Int64
    public var outcome: DeliveryOutcome
    public var attempt: DeliveryAttempt

    public init(id: DeliveryID, token: Int64, outcome: DeliveryOutcome, attempt: DeliveryAttempt) {
        self.id = id
        self.token = token
        self.outcome = outcome
        self.attempt = attempt
    }
}

extension DeliveryStore {
    /// The secrets that sign a partner's webhooks now, newest first.
    public func webhookSecrets(partner: PartnerID, now: Date) async throws -> [String] {
        try await webhookSecrets(partners: [partner], now: now)[partner] ?? []
    }

    /// `heldLeases` for one lease.
    public func holdsLease(_ id: DeliveryID, token: Int64, now: Date) async throws -> Bool {
        try await heldLeases([DeliveryLease(id: id, token: token)], now: now).contains(id)
    }

    /// `completeDeliveries` for one delivery.
    public func completeDelivery(
        _ id: DeliveryID, token: Int64, outcome: DeliveryOutcome, attempt: DeliveryAttempt, now: Date,
        pauseAfter: TimeInterval
    ) async throws -> Bool {
        try await completeDeliveries(
            [DeliveryCompletion(id: id, token: token, outcome: outcome, attempt: attempt)], now: now,
            pauseAfter: pauseAfter
        ).contains(id)
    }
}

public struct DeliveryQuery: Sendable, Equatable {
    public var notice: NoticeID?
    public var partner: PartnerID?
    public var state: DeliveryState?
    public var after: Int64
    public var limit: Int

    public init(
        notice: NoticeID? = nil, partner: PartnerID? = nil, state: DeliveryState? = nil, after: Int64 = 0,
        limit: Int = 100
    ) {
        self.notice = notice
        self.partner = partner
        self.state = state
        self.after = after
        self.limit = limit
    }
}

public enum DeliveryPage {
    public struct Entry: Sendable, Equatable {
        public var position: Int64
        public var delivery: Delivery

        public init(position: Int64, delivery: Delivery) {
            self.position = position
            self.delivery = delivery
        }
    }
}

public struct OutboxStats: Sendable, Equatable {
    /// Deliveries waiting to be sent (pending, failed or in flight).
    public var depth: Int
    /// Seconds since the oldest due delivery became due; 0 when none is due.
    public var oldestDueAge: TimeInterval

    public init(depth: Int, oldestDueAge: TimeInterval) {
        self.depth = depth
        self.oldestDueAge = oldestDueAge
    }
}
