import Foundation
import GRDB
import TakedownStore

/// The outbox workers that claimed lately, so that several share the work (`ClaimShare`).
extension SQLiteStore {
    static func registerOutboxWorkers(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v16-outbox-workers") { db in
            try db.execute(sql: "CREATE TABLE outbox_workers (owner TEXT PRIMARY KEY, seen_at REAL NOT NULL)")
        }
    }

    /// Records that `owner` claims now, and returns how much it may claim of `limit`.
    static func claimShare(
        owner: String, limit: Int, now: Date, lease: TimeInterval, perEndpointCap: Int, _ db: Database
    ) throws -> Int {
        try db.cachedStatement(
            sql: """
                INSERT INTO outbox_workers (owner, seen_at) VALUES (?, ?)
                ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at
                """
        ).execute(arguments: [owner, now.storedValue])
        // Workers gone for a day are forgotten.
        try db.cachedStatement(sql: "DELETE FROM outbox_workers WHERE seen_at < ?")
            .execute(arguments: [now.addingTimeInterval(-86_400).storedValue])
        let live =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM outbox_workers WHERE seen_at > ?"),
                arguments: [now.addingTimeInterval(-lease).storedValue]) ?? 1
        guard live > 1 else { return limit }
        let busy =
            try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM (
                            SELECT DISTINCT d.partner_id, d.channel, d.endpoint FROM deliveries d
                            LEFT JOIN endpoints e
                                ON e.partner_id = d.partner_id AND e.channel = d.channel AND e.endpoint = d.endpoint
                            JOIN partners p ON p.id = d.partner_id
                            WHERE (d.state = 'in_flight' OR (d.state IN ('pending', 'failed') AND d.next_attempt_at <= ?))
                              AND e.paused_at IS NULL AND e.disabled_at IS NULL AND p.suspended_at IS NULL)
                        """), arguments: [now.storedValue]) ?? 0
        let mine =
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT count(*) FROM deliveries WHERE state = 'in_flight' AND lease_owner = ?"),
                arguments: [owner]) ?? 0
        return ClaimShare.limit(
            requested: limit, liveWorkers: live, busyEndpoints: busy, perEndpointCap: perEndpointCap, ownInFlight: mine)
    }
}
