import Foundation
import Logging
import ServiceLifecycle
import TakedownStore

/// Returns deliveries whose lease expired (their worker died or stalled) to the queue.
public struct LeaseRescuer: Service {
    let store: any GatewayStore
    let interval: TimeInterval
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(
        store: any GatewayStore, interval: TimeInterval, clock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger = Logger(label: "takedown.rescuer")
    ) {
        self.store = store
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Returns expired leases, and at once those of processes of this PID namespace that are gone (a
    /// gateway killed and restarted in place does not wait for its old leases to expire; one in a new
    /// container, or on another host, does, as nothing here can tell that the old owner is dead).
    public func rescueOnce() async throws {
        let now = clock()
        for owner in try await store.leaseOwners() where LeaseOwner.isDeadLocalProcess(owner) {
            let rescued = try await store.rescueLeases(of: owner, now: now)
            if rescued > 0 {
                logger.notice(
                    "returned leases of a dead process", metadata: ["owner": "\(owner)", "count": "\(rescued)"])
            }
        }
        let rescued = try await store.rescueExpiredLeases(now: now)
        if rescued > 0 { logger.notice("returned expired leases", metadata: ["count": "\(rescued)"]) }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.loop() }
    }

    func loop() async throws {
        while !Task.isCancelled {
            do {
                try await rescueOnce()
            } catch {
                if Task.isCancelled { return }  // shutting down: the store call was cut short, not failed
                logger.error("lease rescue failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }
}
