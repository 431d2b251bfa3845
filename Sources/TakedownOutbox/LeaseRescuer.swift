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

    public func run() async throws {
        while !Task.isCancelled {
            do {
                let rescued = try await store.rescueExpiredLeases(now: clock())
                if rescued > 0 { logger.notice("returned expired leases", metadata: ["count": "\(rescued)"]) }
            } catch {
                logger.error("lease rescue failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }
}
