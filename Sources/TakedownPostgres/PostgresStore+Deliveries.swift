import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// Claims in two statements of one READ COMMITTED transaction (research/delivery.md §c).
    ///
    /// The first locks endpoints that have due work (`FOR UPDATE SKIP LOCKED`: an endpoint another instance
    /// is claiming for is skipped). It finds each endpoint's oldest due row with one probe of the partial
    /// index (an aggregate in a lateral subquery, which the planner cannot flatten): as an `EXISTS`, it was
    /// planned as a scan of every due row, and a claim on a backlog of 10,000 took 15 ms instead of 2.
    ///
    /// The second counts what those endpoints have in flight and leases their oldest due rows up to the cap. It must be a new statement: its snapshot is taken after the locks were
    /// granted, so it sees every claim committed by whoever held them before. Counting inside the locking
    /// statement reads the older snapshot, and caps were overrun that way.
    public func claimDeliveries(owner: String, limit: Int, now: Date, lease: TimeInterval, perEndpointCap: Int)
        async throws -> [Delivery]
    {
        guard limit > 0, perEndpointCap > 0 else { return [] }
        return try await transaction { transaction in
            let limit = try await Self.claimShare(
                owner: owner, limit: limit, now: now, lease: lease, perEndpointCap: perEndpointCap, transaction)
            guard limit > 0 else { return [] }
            let endpoints = try await transaction.rows(
                """
                SELECT e.partner_id, e.channel, e.endpoint FROM endpoints e
                CROSS JOIN LATERAL (SELECT min(d.next_attempt_at) AS due_at FROM deliveries d
                                    WHERE d.partner_id = e.partner_id AND d.channel = e.channel
                                      AND d.endpoint = e.endpoint AND d.state IN ('pending', 'failed')) due
                WHERE e.paused_at IS NULL AND e.disabled_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.id = e.partner_id AND p.suspended_at IS NOT NULL)
                  AND due.due_at <= \(now.stored)
                  AND (SELECT count(*) FROM deliveries l
                       WHERE l.partner_id = e.partner_id AND l.channel = e.channel AND l.endpoint = e.endpoint
                         AND l.state = 'in_flight') < \(perEndpointCap)
                ORDER BY due.due_at
                LIMIT \(limit)
                FOR UPDATE OF e SKIP LOCKED
                """)
            guard !endpoints.isEmpty else { return [] }
            let partners: [String] = try endpoints.map { try $0.get("partner_id") }
            let channels: [String] = try endpoints.map { try $0.get("channel") }
            let urls: [String] = try endpoints.map { try $0.get("endpoint") }
            let claimed = try await transaction.rows(
                """
                WITH ep AS (
                    SELECT * FROM unnest(\(partners)::text[], \(channels)::text[], \(urls)::text[])
                        AS t(partner_id, channel, endpoint)),
                pick AS MATERIALIZED (
                    SELECT p.id, p.next_attempt_at, p.position FROM ep CROSS JOIN LATERAL (
                        SELECT d.id, d.next_attempt_at, d.position FROM deliveries d
                        WHERE d.partner_id = ep.partner_id AND d.channel = ep.channel AND d.endpoint = ep.endpoint
                          AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= \(now.stored)
                        ORDER BY d.next_attempt_at, d.position
                        LIMIT GREATEST(\(perEndpointCap) - (
                            SELECT count(*) FROM deliveries l
                            WHERE l.partner_id = ep.partner_id AND l.channel = ep.channel AND l.endpoint = ep.endpoint
                              AND l.state = 'in_flight'), 0)
                        FOR UPDATE OF d SKIP LOCKED) p
                    ORDER BY p.next_attempt_at, p.position
                    LIMIT \(limit))
                UPDATE deliveries d SET state = 'in_flight', lease_token = d.lease_token + 1, lease_owner = \(owner),
                       lease_expires_at = \(now.addingTimeInterval(lease).stored), updated_at = \(now.stored)
                WHERE d.id = ANY (ARRAY(SELECT id FROM pick)) AND d.state IN ('pending', 'failed')
                RETURNING d.*
                """)
            return try claimed.map { (try Self.delivery(from: $0), try $0.get("position", as: Int64.self)) }
                .sorted { ($0.0.nextAttemptAt, $0.1) < ($1.0.nextAttemptAt, $1.1) }.map(\.0)
        }
    }

    public func heldLeases(_ leases: [DeliveryLease], now: Date) async throws -> Set<DeliveryID> {
        guard !leases.isEmpty else { return [] }
        let held = try await rows(
            """
            SELECT d.id FROM deliveries d
            JOIN unnest(\(leases.map(\.id.rawValue))::text[], \(leases.map(\.token))::bigint[]) AS l(id, token)
              ON l.id = d.id AND l.token = d.lease_token
            WHERE d.state = 'in_flight' AND d.lease_expires_at > \(now.stored)
            """)
        return Set(try held.map { DeliveryID(rawValue: try $0.get("id")) })
    }

    /// Records a round's outcomes in one transaction of four statements, whatever their number: the
    /// endpoints locked and read, every fenced delivery row updated, the attempts inserted, the endpoints'
    /// health written back as `EndpointState.record` moved it, outcome by outcome in the order given.
    public func completeDeliveries(_ completions: [DeliveryCompletion], now: Date, pauseAfter: TimeInterval)
        async throws -> Set<DeliveryID>
    {
        guard !completions.isEmpty else { return [] }
        // Endpoints are locked in key order by every writer, so two batches completing for the same
        // endpoints cannot deadlock.
        return try await transaction { transaction in
            var health: [[String]: EndpointState] = [:]
            for row in try await transaction.rows(
                """
                SELECT e.* FROM endpoints e
                WHERE (e.partner_id, e.channel, e.endpoint) IN (
                    SELECT partner_id, channel, endpoint FROM deliveries WHERE id = ANY(\(completions.map(\.id.rawValue))))
                ORDER BY e.partner_id, e.channel, e.endpoint
                FOR UPDATE OF e
                """)
            {
                let state = try Self.endpointState(from: row)
                health[[state.partnerId.rawValue, state.channel.rawValue, state.endpoint]] = state
            }
            // Fenced: only the holder of the current lease token records an outcome.
            var update = SQL("UPDATE deliveries d SET state = c.state, attempts = d.attempts + 1, ")
            update.append("next_attempt_at = c.next::double precision, lease_owner = NULL, lease_expires_at = NULL, ")
            update.append("last_error = c.error::text, last_status = c.status::integer, updated_at = ")
            update.bind(now.stored)
            update.append(" FROM (VALUES ")
            try update.appendRows(completions) { completion in
                let stored = completion.outcome.stored(at: now)
                return [
                    .v(completion.id.rawValue), .v(completion.token), .v(stored.state.rawValue),
                    .v(stored.nextAttemptAt.stored), .v(stored.error), .v(completion.attempt.statusCode),
                ]
            }
            update.append(
                """
                ) AS c(id, token, state, next, error, status)
                WHERE d.id = c.id AND d.lease_token = c.token AND d.state = 'in_flight'
                RETURNING d.id, d.partner_id, d.channel, d.endpoint, d.attempts
                """)
            var recorded: [DeliveryID: (endpoint: [String], number: Int)] = [:]
            for row in try await transaction.rows(update.query) {
                recorded[DeliveryID(rawValue: try row.get("id"))] = (
                    [try row.get("partner_id"), try row.get("channel"), try row.get("endpoint")],
                    try row.get("attempts")
                )
            }
            let done = completions.filter { recorded[$0.id] != nil }
            try await transaction.insertRows(
                """
                INSERT INTO delivery_attempts (delivery_id, number, at, status_code, latency_ms, error, response_excerpt)
                """, done, columns: 7
            ) { completion in
                let attempt = completion.attempt
                return [
                    .v(completion.id.rawValue), .v(recorded[completion.id]?.number), .v(attempt.at.stored),
                    .v(attempt.statusCode), .v(attempt.latencyMs), .v(attempt.error), .v(attempt.responseExcerpt),
                ]
            }
            var moved: [[String]] = []
            for completion in done {
                guard let key = recorded[completion.id]?.endpoint, health[key] != nil else { continue }
                if !moved.contains(key) { moved.append(key) }
                health[key]?.record(completion.outcome, at: now, pauseAfter: pauseAfter)
            }
            let states = moved.compactMap { health[$0] }
            if !states.isEmpty {
                var write = SQL(
                    """
                    UPDATE endpoints e SET attempted = true, failing_since = h.failing_since::double precision,
                           last_success_at = h.last_success_at::double precision,
                           paused_at = h.paused_at::double precision, disabled_at = h.disabled_at::double precision
                    FROM (VALUES
                    """)
                try write.appendRows(states) { state in
                    [
                        .v(state.partnerId.rawValue), .v(state.channel.rawValue), .v(state.endpoint),
                        .v(state.failingSince?.stored), .v(state.lastSuccessAt?.stored), .v(state.pausedAt?.stored),
                        .v(state.disabledAt?.stored),
                    ]
                }
                write.append(
                    """
                    ) AS h(partner_id, channel, endpoint, failing_since, last_success_at, paused_at, disabled_at)
                    WHERE e.partner_id = h.partner_id AND e.channel = h.channel AND e.endpoint = h.endpoint
                    """)
                try await transaction.run(write.query)
            }
            return Set(done.map(\.id))
        }
    }

    public func rescueExpiredLeases(now: Date) async throws -> Int {
        try await transaction { transaction in
            try await Self.returnLeases(where: "lease_expires_at <=", now.stored, now: now, transaction)
        }
    }

    public func leaseOwners() async throws -> [String] {
        try await rows(
            "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'in_flight' AND lease_owner IS NOT NULL"
        ).map { try $0.get("lease_owner") }
    }

    public func rescueLeases(of owner: String, now: Date) async throws -> Int {
        try await transaction { transaction in
            // A dead worker no longer counts for the shares of the live ones.
            try await transaction.run("DELETE FROM outbox_workers WHERE owner = \(owner)")
            return try await Self.returnLeases(where: "lease_owner =", owner, now: now, transaction)
        }
    }

    /// Puts in-flight rows matching `condition` back in the queue, keeping their due time (and so their
    /// place): a failed row stays `failed`, one never attempted goes back to `pending`.
    private static func returnLeases(
        where condition: String, _ value: some PostgresDynamicTypeEncodable, now: Date, _ transaction: Transaction
    ) async throws -> Int {
        var sql = SQL(
            """
            UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'failed' ELSE 'pending' END,
                   lease_owner = NULL, lease_expires_at = NULL, updated_at =
            """)
        sql.bind(now.stored)
        sql.append(" WHERE state = 'in_flight' AND ")
        sql.append(condition + " ")
        sql.bind(value)
        sql.append(" RETURNING 1")
        let count = try await transaction.count(sql.query)
        if count > 0 { try await notifyOutbox(transaction) }
        return count
    }
}
