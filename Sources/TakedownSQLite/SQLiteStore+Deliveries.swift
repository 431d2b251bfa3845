import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func claimDeliveries(owner: String, limit: Int, now: Date, lease: TimeInterval, perEndpointCap: Int)
        async throws -> [Delivery]
    {
        try await guarded {
            try await write { db in
                let limit = try Self.claimShare(
                    owner: owner, limit: limit, now: now, lease: lease, perEndpointCap: perEndpointCap, db)
                guard limit > 0 else { return [] }
                // SQLite runs one writer at a time, so counting and claiming in one transaction keeps the cap.
                var inFlight: [String: Int] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT partner_id, channel, endpoint, COUNT(*) AS n FROM deliveries
                        WHERE state = 'in_flight' GROUP BY partner_id, channel, endpoint
                        """)
                {
                    inFlight[Self.endpointKey(row["partner_id"], row["channel"], row["endpoint"])] = row["n"]
                }
                // Candidates without their bodies: a backlog scan must not read every payload.
                let candidates = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT d.id, d.partner_id, d.channel, d.endpoint FROM deliveries d
                        LEFT JOIN endpoints e
                            ON e.partner_id = d.partner_id AND e.channel = d.channel AND e.endpoint = d.endpoint
                        JOIN partners p ON p.id = d.partner_id
                        WHERE d.state IN ('pending', 'failed') AND d.next_attempt_at <= ?
                          AND e.paused_at IS NULL AND e.disabled_at IS NULL AND p.suspended_at IS NULL
                        ORDER BY d.next_attempt_at, d.position
                        LIMIT ?
                        """,
                    arguments: [now.storedValue, limit * 8 + 64])
                var claimedIDs: [String] = []
                let expires = now.addingTimeInterval(lease)
                let update = try db.cachedStatement(
                    sql: """
                        UPDATE deliveries SET state = 'in_flight', lease_token = lease_token + 1, lease_owner = ?,
                               lease_expires_at = ?, updated_at = ?
                        WHERE id = ?
                        """)
                for row in candidates where claimedIDs.count < limit {
                    let key = Self.endpointKey(row["partner_id"], row["channel"], row["endpoint"])
                    guard inFlight[key, default: 0] < perEndpointCap else { continue }
                    inFlight[key, default: 0] += 1
                    let id: String = row["id"]
                    try update.execute(arguments: [owner, expires.storedValue, now.storedValue, id])
                    claimedIDs.append(id)
                }
                guard !claimedIDs.isEmpty else { return [] }
                let placeholders = Array(repeating: "?", count: claimedIDs.count).joined(separator: ",")
                return try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM deliveries WHERE id IN (\(placeholders)) ORDER BY next_attempt_at, position",
                    arguments: StatementArguments(claimedIDs)
                ).map(Self.delivery(from:))
            }
        }
    }

    public func heldLeases(_ leases: [DeliveryLease], now: Date) async throws -> Set<DeliveryID> {
        guard !leases.isEmpty else { return [] }
        return try await guarded {
            try await pool.read { db in
                var held = Set<DeliveryID>()
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = ? AND lease_token = ?
                                       AND state = 'in_flight' AND lease_expires_at > ?)
                        """)
                for lease in leases
                where try Bool.fetchOne(statement, arguments: [lease.id.rawValue, lease.token, now.storedValue]) == true
                {
                    held.insert(lease.id)
                }
                return held
            }
        }
    }

    public func completeDeliveries(_ completions: [DeliveryCompletion], now: Date, pauseAfter: TimeInterval)
        async throws -> Set<DeliveryID>
    {
        guard !completions.isEmpty else { return [] }
        return try await guarded {
            try await write { db in
                var recorded = Set<DeliveryID>()
                for completion in completions where try Self.complete(completion, now: now, pauseAfter: pauseAfter, db)
                {
                    recorded.insert(completion.id)
                }
                return recorded
            }
        }
    }

    /// Records one completion inside the caller's transaction; false when the lease is gone.
    static func complete(_ completion: DeliveryCompletion, now: Date, pauseAfter: TimeInterval, _ db: Database) throws
        -> Bool
    {
        let id = completion.id
        let token = completion.token
        let outcome = completion.outcome
        let attempt = completion.attempt
        let (state, next, error) = outcome.stored(at: now)
        try db.execute(
            sql: """
                UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL,
                       lease_expires_at = NULL, last_error = ?, last_status = ?, updated_at = ?
                WHERE id = ? AND lease_token = ? AND state = 'in_flight'
                """,
            arguments: [
                state.rawValue, next.storedValue, error, attempt.statusCode, now.storedValue, id.rawValue, token,
            ])
        guard db.changesCount == 1,
            let row = try Row.fetchOne(
                db, sql: "SELECT partner_id, channel, endpoint, attempts FROM deliveries WHERE id = ?",
                arguments: [id.rawValue])
        else { return false }
        try db.execute(
            sql: """
                INSERT INTO delivery_attempts (delivery_id, number, at, status_code, latency_ms, error, response_excerpt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id.rawValue, row["attempts"] as Int, attempt.at.storedValue, attempt.statusCode, attempt.latencyMs,
                attempt.error, attempt.responseExcerpt,
            ])
        let endpoint: [(any DatabaseValueConvertible)?] = [
            row["partner_id"] as String, row["channel"] as String, row["endpoint"] as String,
        ]
        try db.execute(
            sql: "INSERT OR IGNORE INTO endpoints (partner_id, channel, endpoint) VALUES (?, ?, ?)",
            arguments: StatementArguments(endpoint))
        guard
            let current = try Row.fetchOne(
                db, sql: "SELECT * FROM endpoints WHERE partner_id = ? AND channel = ? AND endpoint = ?",
                arguments: StatementArguments(endpoint))
        else { return true }
        // The endpoint's health moves by the one rule for every store.
        var health = endpointState(from: current)
        health.record(outcome, at: now, pauseAfter: pauseAfter)
        try db.execute(
            sql: """
                UPDATE endpoints SET failing_since = ?, last_success_at = ?, paused_at = ?, disabled_at = ?
                WHERE partner_id = ? AND channel = ? AND endpoint = ?
                """,
            arguments: StatementArguments(
                [
                    health.failingSince?.storedValue, health.lastSuccessAt?.storedValue, health.pausedAt?.storedValue,
                    health.disabledAt?.storedValue,
                ] + endpoint))
        return true
    }

    public func rescueExpiredLeases(now: Date) async throws -> Int {
        try await returnLeases(where: "lease_expires_at <= ?", now.storedValue, now: now)
    }

    public func leaseOwners() async throws -> [String] {
        try await guarded {
            try await pool.read { db in
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'in_flight' AND lease_owner IS NOT NULL"
                )
            }
        }
    }

    public func rescueLeases(of owner: String, now: Date) async throws -> Int {
        let returned = try await returnLeases(where: "lease_owner = ?", owner, now: now)
        // A dead worker no longer counts for the shares of the live ones.
        try await guarded {
            try await write { db in
                try db.execute(sql: "DELETE FROM outbox_workers WHERE owner = ?", arguments: [owner])
            }
        }
        return returned
    }

    /// Puts in-flight rows matching `condition` back in the queue, keeping their due time (and so their
    /// place): a failed row stays `failed`, one never attempted goes back to `pending`.
    private func returnLeases(where condition: String, _ value: some DatabaseValueConvertible & Sendable, now: Date)
        async throws -> Int
    {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'failed' ELSE 'pending' END,
                               lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
                        WHERE state = 'in_flight' AND \(condition)
                        """,
                    arguments: [now.storedValue, value])
                return db.changesCount
            }
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryPage.Entry] {
        let listing = query.listing
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).map {
                    DeliveryPage.Entry(position: $0["position"], delivery: try Self.delivery(from: $0))
                }
            }
        }
    }

    public func delivery(_ id: DeliveryID) async throws -> (Delivery, [DeliveryAttempt])? {
        try await guarded {
            try await pool.read { db in
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id.rawValue])
                else { return nil }
                let attempts = try Row.fetchAll(
                    db, sql: "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY number",
                    arguments: [id.rawValue]
                ).map { row in
                    DeliveryAttempt(
                        number: row["number"], at: Date(stored: row["at"]), statusCode: row["status_code"],
                        latencyMs: row["latency_ms"], error: row["error"], responseExcerpt: row["response_excerpt"])
                }
                return (try Self.delivery(from: row), attempts)
            }
        }
    }

    public func retryDelivery(_ id: DeliveryID, now: Date) async throws -> Delivery? {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = 'failed', next_attempt_at = ?, updated_at = ?
                        WHERE id = ? AND state IN ('failed', 'dead')
                        """,
                    arguments: [now.storedValue, now.storedValue, id.rawValue])
                guard db.changesCount == 1 else { return nil }
                return try Row.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id.rawValue])
                    .map(Self.delivery(from:))
            }
        }
    }

    public func requeueDeliveries(partner: PartnerID, since: Date, until: Date, now: Date) async throws -> Int {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = 'failed', next_attempt_at = ?, updated_at = ?
                        WHERE partner_id = ? AND state IN ('failed', 'dead') AND created_at >= ? AND created_at < ?
                        """,
                    arguments: [
                        now.storedValue, now.storedValue, partner.rawValue, since.storedValue, until.storedValue,
                    ])
                return db.changesCount
            }
        }
    }

    public func resumeEndpoints(partner: PartnerID, now: Date) async throws -> Int {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE endpoints SET paused_at = NULL, disabled_at = NULL, failing_since = NULL
                        WHERE partner_id = ? AND (paused_at IS NOT NULL OR disabled_at IS NOT NULL)
                        """,
                    arguments: [partner.rawValue])
                return db.changesCount
            }
        }
    }

    public func endpointStates(partner: PartnerID?) async throws -> [EndpointState] {
        try await guarded {
            try await pool.read { db in
                let rows: [Row]
                if let partner {
                    rows = try Row.fetchAll(
                        db, sql: "SELECT * FROM endpoints WHERE partner_id = ? ORDER BY channel, endpoint",
                        arguments: [partner.rawValue])
                } else {
                    rows = try Row.fetchAll(db, sql: "SELECT * FROM endpoints ORDER BY partner_id, channel, endpoint")
                }
                return rows.map(Self.endpointState(from:))
            }
        }
    }

    public func outboxStats(now: Date) async throws -> OutboxStats {
        try await guarded {
            try await pool.read { db in
                let depth =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'failed', 'in_flight')")
                    ?? 0
                let oldest = try Double.fetchOne(
                    db,
                    sql:
                        "SELECT MIN(next_attempt_at) FROM deliveries WHERE state IN ('pending', 'failed') AND next_attempt_at <= ?",
                    arguments: [now.storedValue])
                return OutboxStats(depth: depth, oldestDueAge: oldest.map { max(0, now.storedValue - $0) } ?? 0)
            }
        }
    }

    public func addWebhookSecret(partner: PartnerID, secret: String, now: Date, previousUntil: Date) async throws {
        try await guarded {
            try await write { db in
                try Self.addWebhookSecret(
                    partner, try self.secrets.seal(secret), now: now, previousUntil: previousUntil, db)
            }
        }
    }

    public func webhookSecrets(partners: [PartnerID], now: Date) async throws -> [PartnerID: [String]] {
        guard !partners.isEmpty else { return [:] }
        let secrets = self.secrets
        let ids = partners.map(\.rawValue)
        return try await guarded {
            try await pool.read { db -> [PartnerID: [String]] in
                var found: [PartnerID: [String]] = [:]
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT partner_id, secret FROM webhook_secrets
                        WHERE partner_id IN (\(databaseQuestionMarks(count: ids.count)))
                          AND (expires_at IS NULL OR expires_at > ?)
                        ORDER BY partner_id, created_at DESC, rowid DESC
                        """,
                    arguments: StatementArguments(ids.map { $0 as any DatabaseValueConvertible } + [now.storedValue]))
                for row in rows {
                    found[PartnerID(rawValue: row["partner_id"]), default: []].append(
                        try secrets.opened(row["secret"]))
                }
                return found
            }
        }
    }

    /// Stores a secret, already sealed, and ends the older ones at `previousUntil`.
    static func addWebhookSecret(_ partner: PartnerID, _ secret: String, now: Date, previousUntil: Date, _ db: Database)
        throws
    {
        try db.execute(
            sql: """
                UPDATE webhook_secrets SET expires_at = ?
                WHERE partner_id = ? AND (expires_at IS NULL OR expires_at > ?)
                """,
            arguments: [previousUntil.storedValue, partner.rawValue, previousUntil.storedValue])
        try db.execute(
            sql: "INSERT INTO webhook_secrets (partner_id, secret, created_at, expires_at) VALUES (?, ?, ?, NULL)",
            arguments: [partner.rawValue, secret, now.storedValue])
    }

    static func insert(_ delivery: Delivery, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO deliveries (id, notice_id, partner_id, channel, endpoint, event_type, event_id, payload, state,
                                        attempts, next_attempt_at, lease_token, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            delivery.id.rawValue, delivery.noticeId.rawValue, delivery.partnerId.rawValue, delivery.channel.rawValue,
            delivery.endpoint, delivery.eventType, delivery.eventId, delivery.payload, delivery.state.rawValue,
            delivery.attempts, delivery.nextAttemptAt.storedValue, delivery.leaseToken, delivery.createdAt.storedValue,
            delivery.updatedAt.storedValue,
        ])
    }

    static func delivery(from row: Row) throws -> Delivery {
        Delivery(
            id: DeliveryID(rawValue: row["id"]), noticeId: NoticeID(rawValue: row["notice_id"]),
            partnerId: PartnerID(rawValue: row["partner_id"]),
            channel: DeliveryChannel(rawValue: row["channel"]) ?? .webhook, endpoint: row["endpoint"],
            eventType: row["event_type"], eventId: row["event_id"], payload: row["payload"],
            state: DeliveryState(rawValue: row["state"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: Date(stored: row["next_attempt_at"]), leaseToken: row["lease_token"],
            leaseOwner: row["lease_owner"],
            leaseExpiresAt: (row["lease_expires_at"] as Double?).map(Date.init(stored:)),
            lastError: row["last_error"], lastStatus: row["last_status"], createdAt: Date(stored: row["created_at"]),
            updatedAt: Date(stored: row["updated_at"]))
    }

    static func endpointKey(_ partner: String, _ channel: String, _ endpoint: String) -> String {
        "\(partner)\u{1F}\(channel)\u{1F}\(endpoint)"
    }

    static func endpointState(from row: Row) -> EndpointState {
        EndpointState(
            partnerId: PartnerID(rawValue: row["partner_id"]),
            channel: DeliveryChannel(rawValue: row["channel"]) ?? .webhook, endpoint: row["endpoint"],
            failingSince: (row["failing_since"] as Double?).map(Date.init(stored:)),
            lastSuccessAt: (row["last_success_at"] as Double?).map(Date.init(stored:)),
            pausedAt: (row["paused_at"] as Double?).map(Date.init(stored:)),
            disabledAt: (row["disabled_at"] as Double?).map(Date.init(stored:)))
    }
}
