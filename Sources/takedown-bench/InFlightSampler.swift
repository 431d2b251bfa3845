import Foundation
import PostgresNIO
import Synchronization
import TakedownPostgres

/// How the instances draining one backlog share it: every 20 ms, the deliveries each worker process holds
/// in flight, summed over the drain. A worker's sum over the total is its share of the endpoints' capacity
/// over time, which is its share of the deliveries when they take equally long (as the benchmark's do).
final class InFlightSampler: Sendable {
    private final class Totals: Sendable {
        let counts = Mutex<[String: Int]>([:])
    }

    private let totals = Totals()
    private let task: Task<Void, Never>

    init(databaseURL: String) throws {
        let client = PostgresClient(configuration: try PostgresStoreConfiguration(url: databaseURL, poolSize: 1).client)
        let totals = self.totals
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                while !Task.isCancelled {
                    do {
                        let rows = try await client.query(
                            """
                            SELECT lease_owner, count(*)::bigint FROM deliveries
                            WHERE state = 'in_flight' AND lease_owner IS NOT NULL GROUP BY lease_owner
                            """)
                        for try await (owner, count) in rows.decode((String, Int64).self) {
                            totals.counts.withLock { $0[owner, default: 0] += Int(count) }
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    } catch {
                        break
                    }
                }
                group.cancelAll()
            }
        }
    }

    /// Stops sampling; each worker's share of what was sampled, largest first.
    func stop() async -> [Double] {
        task.cancel()
        await task.value
        let counts = totals.counts.withLock { $0 }
        let total = Double(counts.values.reduce(0, +))
        guard total > 0 else { return [] }
        return counts.values.map { Double($0) / total }.sorted(by: >)
    }
}
