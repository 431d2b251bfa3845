import Foundation

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
    /// Who holds the leases this worker takes: host, process and a random suffix.
    public var owner = LeaseOwner.current

    public init() {}

    /// Longer than the request timeout, so a live worker never loses a lease mid-request.
    public var lease: TimeInterval { requestTimeout + 30 }
}

/// Lease owners are `host/pid/random`, so a restarted gateway can tell that a lease belongs to a
/// process of its own host that no longer exists.
public enum LeaseOwner {
    public static let current = "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UInt32.random(in: .min ... .max))"

    public static func isDeadLocalProcess(_ owner: String) -> Bool {
        let parts = owner.split(separator: "/")
        guard parts.count == 3, parts[0] == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]),
            owner != current
        else { return false }
        if pid == getpid() { return true }  // this pid, another random part: an earlier process reused the pid
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
