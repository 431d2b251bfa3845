import Foundation
import PostgresNIO
import TakedownStore

/// The outbox workers that claimed lately, so that instances share the work (`ClaimShare`).
extension PostgresStore {
    static let outboxWorkerSchema = [
        "CREATE TABLE outbox_workers (owner text PRIMARY KEY, seen_at double precision NOT NULL)"
    ]

    /// Records that `owner` claims now, and returns how much it may claim of `limit`.
    static func claimShare(
        owner: String, limit: Int, now: Date, lease: TimeInterval, perEndpointCap: Int, _ transaction: Transaction
    ) async throws -> Int {
        // One statement: the heartbeat, workers gone for a day forgotten, and the live ones counted (this one
        // and the others seen within a lease; the count reads the snapshot from before the heartbeat).
        let live =
            try await transaction.rows(
                """
                WITH seen AS (
                    INSERT INTO outbox_workers (owner, seen_at) VALUES (\(owner), \(now.stored))
                    ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at RETURNING 1),
                forgotten AS (
                    DELETE FROM outbox_workers
                    WHERE seen_at < \(now.addingTimeInterval(-86_400).stored) AND owner <> \(owner) RETURNING 1)
                SELECT 1 + count(*) AS live FROM outbox_workers
                WHERE owner <> \(owner) AND seen_at > \(now.addingTimeInterval(-lease).stored)
                """
            ).first?.get("live", as: Int.self) ?? 1
        guard live > 1 else { return limit }
        guard
            let row = try await transaction.rows(
                """
                SELECT
                  (SELECT count(*) FROM endpoints e
                   WHERE e.paused_at IS NULL AND e.disabled_at IS NULL
                     AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.id = e.partner_id AND p.suspended_at IS NOT NULL)
                     AND (EXISTS (SELECT 1 FROM deliveries d
                                  WHERE d.partner_id = e.partner_id AND d.channel = e.channel AND d.endpoint = e.endpoint
                                    AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= \(now.stored))
                          OR EXISTS (SELECT 1 FROM deliveries d
                                     WHERE d.partner_id = e.partner_id AND d.channel = e.channel
                                       AND d.endpoint = e.endpoint AND d.state = 'in_flight'))) AS busy,
                  (SELECT count(*) FROM deliveries WHERE state = 'in_flight' AND lease_owner = \(owner)) AS mine
                """
            ).first
        else { return limit }
        return ClaimShare.limit(
            requested: limit, liveWorkers: live, busyEndpoints: try row.get("busy", as: Int.self),
            perEndpointCap: perEndpointCap, ownInFlight: try row.get("mine", as: Int.self))
    }
}
