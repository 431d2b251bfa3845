import Logging
import PostgresNIO
import ServiceLifecycle

/// Listens for `NOTIFY takedown_outbox` on one pooled connection and calls `onNotify` for each, so every
/// instance's worker wakes when any instance queues deliveries. The worker's poll interval stays the
/// backstop: a notification lost while reconnecting only delays a delivery until the next poll.
public struct PostgresOutboxListener: Service {
    let store: PostgresStore
    let onNotify: @Sendable () -> Void
    let retryDelay: Duration

    public init(store: PostgresStore, retryDelay: Duration = .seconds(1), onNotify: @escaping @Sendable () -> Void) {
        self.store = store
        self.retryDelay = retryDelay
        self.onNotify = onNotify
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.client.withConnection { connection in
                        try await connection.listen(on: PostgresStore.outboxChannel) { notifications in
                            // Deliveries may have been queued while no one listened.
                            onNotify()
                            for try await _ in notifications { onNotify() }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    store.logger.warning(
                        "outbox listener lost its connection; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: retryDelay)
            }
        }
    }
}

/// Keeps a store open while the service group runs and closes its pool when the group stops. Put it first
/// in the group: services stop in reverse order, so the pool closes after everything that uses it.
public struct PostgresStoreService: Service {
    let store: PostgresStore

    public init(store: PostgresStore) { self.store = store }

    public func run() async throws {
        try? await gracefulShutdown()
        await store.shutdown()
    }
}
