import Foundation
import TakedownModel

/// How the outbox worker behaves; the command line fills it from settings.
public struct OutboxConfiguration: Sendable {
    /// Time allowed for one webhook request.
    public var requestTimeout: TimeInterval = 15
    /// Deliveries to one endpoint in flight at once; 1 keeps a provider's notices in issue order.
    public var perEndpointCap = 1
    /// Rows claimed per round.
    public var batchSize = 64
    /// Idle wait between rounds when nothing was due (a new notice wakes the worker at once).
    public var pollInterval: TimeInterval = 0.5
    /// How often expired leases are returned to the queue.
    public var rescueInterval: TimeInterval = 5
    /// An endpoint failing for this long with no success is paused until staff resume it.
    public var pauseAfter: TimeInterval = 5 * 86_400
    public var retryPolicy = RetryPolicy.standard
    public var allowPrivateTargets = false
    /// Reserved ranges that webhooks and the mail relay may reach all the same (`TAKEDOWN_ALLOWED_TARGETS`):
    /// one partner's address on a private network, say, without opening every private address.
    public var allowedTargets: [IPRange] = []
    /// Who holds the leases this worker takes: host, process, a random suffix and the PID namespace.
    public var owner = LeaseOwner.current

    public init() {}

    /// Longer than the request timeout, so a live worker never loses a lease mid-request.
    public var lease: TimeInterval { requestTimeout + 30 }
}
