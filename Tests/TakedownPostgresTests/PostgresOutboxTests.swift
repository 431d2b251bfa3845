import Foundation
import PostgresNIO
import Synchronization
import TakedownModel
import TakedownPostgres
import TakedownStore
import TakedownTestSupport
import Testing

/// What only several instances on one database can show: caps across instances, NOTIFY wake-ups.
@Suite(
    "PostgreSQL outbox across instances",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresOutboxTests {
    @Test("instances claiming at once keep every endpoint's cap and lease each row once at a time")
    func capsAcrossInstances() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let stores = try (0..<3).map { _ in try PostgresStore(url: url, poolSize: 4) }
            try await stores[0].migrate()
            let endpoints = (0..<3).map { "https://hooks.example.com/\($0)" }
            let partner = Synthetic.partner(domains: ["caps.test"])
            try await stores[0].insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
            for index in 0..<60 {
                let record = Synthetic.caseRecord(urls: ["https://caps.test/\(index)"])
                let notice = Synthetic.notice(for: record, partner: partner.id)
                let delivery = Synthetic.delivery(for: notice, endpoint: endpoints[index % 3])
                _ = try await stores[0].insertCase(record, notices: [notice], deliveries: [delivery], idempotency: nil)
            }
            let cap = 2
            // What the database holds, not what the workers have seen: every overrun starts with a claim
            // committing, so right after each claim the worker counts each endpoint's in-flight rows in one
            // statement (one snapshot). A count there is never a false alarm, and a row stays counted until
            // its completion has committed, so an overrun while a completion is still under way is caught.
            let tracker = Locked<(worst: Int, sent: [DeliveryID: Int])>((0, [:]))
            try await PostgresTestDatabase.withClient(url) { observer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, store) in stores.enumerated() {
                        for worker in 0..<2 {
                            group.addTask {
                                let owner = "test/\(index)/\(worker)"
                                while true {
                                    let now = Synthetic.epoch.addingTimeInterval(10)
                                    let claimed = try await store.claimDeliveries(
                                        owner: owner, limit: 6, now: now, lease: 60, perEndpointCap: cap)
                                    if claimed.isEmpty {
                                        if try await store.outboxStats(now: now).depth == 0 { return }
                                        try await Task.sleep(for: .milliseconds(2))
                                        continue
                                    }
                                    let inFlight = try await Self.mostInFlight(observer)
                                    tracker.withLock { state in
                                        state.worst = max(state.worst, inFlight)
                                        for delivery in claimed { state.sent[delivery.id, default: 0] += 1 }
                                    }
                                    try await Task.sleep(for: .milliseconds(3))
                                    let completions = claimed.map {
                                        DeliveryCompletion(
                                            id: $0.id, token: $0.leaseToken, outcome: .succeeded,
                                            attempt: DeliveryAttempt(
                                                number: 1, at: now, statusCode: 200, latencyMs: 3, error: nil,
                                                responseExcerpt: nil))
                                    }
                                    let recorded = try await store.completeDeliveries(
                                        completions, now: now, pauseAfter: 3600)
                                    #expect(recorded.count == claimed.count)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let state = tracker.withLock { $0 }
            #expect(state.worst <= cap)
            #expect(state.worst == cap)
            #expect(state.sent.count == 60)
            #expect(state.sent.values.allSatisfy { $0 == 1 })
            #expect(try await stores[1].deliveries(DeliveryQuery(state: .succeeded, limit: 100)).count == 60)
            for store in stores { await store.shutdown() }
        }
    }

    @Test("a delivery queued by one instance wakes another's listener")
    func notifyWakesListeners() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let writer = try PostgresStore(url: url, poolSize: 2)
            let listening = try PostgresStore(url: url, poolSize: 2)
            try await writer.migrate()
            let wakes = Locked(0)
            let listener = PostgresOutboxListener(store: listening) { wakes.withLock { $0 += 1 } }
            let task = Task { try await listener.run() }
            // The listener signals once when it starts listening.
            try await waitUntil { wakes.withLock { $0 } >= 1 }
            let partner = Synthetic.partner(domains: ["notify.test"])
            try await writer.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
            let record = Synthetic.caseRecord(urls: ["https://notify.test/1"])
            let notice = Synthetic.notice(for: record, partner: partner.id)
            _ = try await writer.insertCase(
                record, notices: [notice], deliveries: [Synthetic.delivery(for: notice)], idempotency: nil)
            try await waitUntil { wakes.withLock { $0 } >= 2 }
            task.cancel()
            _ = try? await task.value
            await writer.shutdown()
            await listening.shutdown()
        }
    }

    /// The most rows any endpoint has in flight, as one snapshot of the database shows them.
    static func mostInFlight(_ client: PostgresClient) async throws -> Int {
        let rows = try await client.query(
            """
            SELECT coalesce(max(n), 0)::bigint FROM (
                SELECT count(*) AS n FROM deliveries WHERE state = 'in_flight'
                GROUP BY partner_id, channel, endpoint) counts
            """)
        var most = 0
        for try await (value) in rows.decode(Int64.self) { most = Int(value) }
        return most
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A value shared between tasks of a test.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout sending Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
