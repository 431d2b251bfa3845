import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TakedownModel
import TakedownStore

/// Claims due deliveries, checks each lease just before sending, sends, and records the outcome only
/// while it still holds the lease. Runs as a `Service` inside `takedown serve` (or `takedown worker`).
public final class OutboxWorker: Service, Sendable {
    let store: any GatewayStore
    let transports: [DeliveryChannel: any DeliveryTransport]
    let configuration: OutboxConfiguration
    let clock: @Sendable () -> Date
    let random: @Sendable () -> Double
    let logger: Logger
    let wakeUp: OutboxWakeUp

    public init(
        store: any GatewayStore, transports: [DeliveryChannel: any DeliveryTransport],
        configuration: OutboxConfiguration,
        wakeUp: OutboxWakeUp = OutboxWakeUp(), clock: @escaping @Sendable () -> Date = Date.init,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "takedown.outbox")
    ) {
        self.store = store
        self.transports = transports
        self.configuration = configuration
        self.wakeUp = wakeUp
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// Loops until the service group shuts down gracefully: the round in progress is cancelled, and any
    /// delivery it held is returned by the rescuer (at once on this host) and sent again, same webhook-id.
    public func run() async throws {
        logger.info("outbox worker started", metadata: ["owner": "\(configuration.owner)"])
        try? await cancelWhenGracefulShutdown { try await self.loop() }
        logger.info("outbox worker stopped")
    }

    func loop() async throws {
        while !Task.isCancelled {
            let sent: Int
            do {
                sent = try await tick()
            } catch {
                if Task.isCancelled { return }  // shutting down: the store call was cut short, not failed
                logger.error("outbox round failed", metadata: ["error": "\(error)"])
                sent = 0
            }
            if sent == 0 {
                await wakeUp.wait(upTo: configuration.pollInterval)
            }
        }
    }

    /// One round: claim, re-check the leases, send concurrently, record every outcome in one transaction.
    /// Returns how many deliveries were attempted.
    @discardableResult
    public func tick() async throws -> Int {
        let claimed = try await store.claimDeliveries(
            owner: configuration.owner, limit: configuration.batchSize, now: clock(), lease: configuration.lease,
            perEndpointCap: configuration.perEndpointCap)
        guard !claimed.isEmpty else { return 0 }
        // Another worker may have taken a row after our lease expired: then it is not ours to send.
        let held = try await store.heldLeases(
            claimed.map { DeliveryLease(id: $0.id, token: $0.leaseToken) }, now: clock())
        let mine = claimed.filter { held.contains($0.id) && transports[$0.channel] != nil }
        if mine.count < claimed.count {
            logger.notice("leases lost before sending", metadata: ["count": "\(claimed.count - mine.count)"])
        }
        let secrets = try await store.webhookSecrets(
            partners: Array(Set(mine.filter { $0.channel == .webhook }.map(\.partnerId))), now: clock())
        let completions = await withTaskGroup(of: DeliveryCompletion?.self) { group in
            for delivery in mine {
                let partnerSecrets = secrets[delivery.partnerId] ?? []
                group.addTask { await self.attempt(delivery, secrets: partnerSecrets) }
            }
            var completions: [DeliveryCompletion] = []
            for await completion in group {
                if let completion { completions.append(completion) }
            }
            return completions
        }
        let recorded = try await store.completeDeliveries(
            completions, now: clock(), pauseAfter: configuration.pauseAfter)
        if recorded.count < completions.count {
            logger.notice("leases lost before recording", metadata: ["count": "\(completions.count - recorded.count)"])
        }
        return claimed.count
    }

    /// Sends one delivery and decides its outcome; nil when shutting down mid-request (the lease is left
    /// to the rescuer, and the delivery is sent again under the same webhook-id).
    func attempt(_ delivery: Delivery, secrets: [String]) async -> DeliveryCompletion? {
        guard let transport = transports[delivery.channel] else { return nil }
        let started = clock()
        let result = await transport.send(delivery, secrets: secrets, now: started)
        if Task.isCancelled { return nil }
        let number = delivery.attempts + 1
        let outcome = decide(result, attempt: number, now: clock())
        DeliveryMetrics.record(outcome: outcome, latencyMs: result.latencyMs)
        return DeliveryCompletion(
            id: delivery.id, token: delivery.leaseToken, outcome: outcome,
            attempt: DeliveryAttempt(
                number: number, at: started, statusCode: result.statusCode, latencyMs: result.latencyMs,
                error: result.error, responseExcerpt: result.responseExcerpt))
    }

    /// The outcome of an attempt under the retry policy.
    func decide(_ result: TransportResult, attempt: Int, now: Date) -> DeliveryOutcome {
        if result.succeeded { return .succeeded }
        let error = result.error ?? "failed"
        if result.accepted == nil, result.statusCode == 410 {
            return .endpointGone(error: "410 Gone: the endpoint is disabled")
        }
        if result.refused { return .dead(error: error) }
        guard
            let delay = configuration.retryPolicy.delay(
                afterAttempt: attempt, status: result.accepted == nil ? result.statusCode : nil,
                retryAfter: result.retryAfter, unit: random())
        else {
            return .dead(error: "\(error) (attempt \(attempt) of \(configuration.retryPolicy.maxAttempts), the last)")
        }
        return .retry(at: now.addingTimeInterval(delay), error: error)
    }
}

/// Wakes the worker when a notice was issued, so deliveries do not wait for the next poll.
public final class OutboxWakeUp: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal or after `seconds`, whichever comes first.
    func wait(upTo seconds: TimeInterval) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                self.signal()
            }
            await group.next()
            group.cancelAll()
        }
        state.withLock { $0.pending = false }
    }
}
