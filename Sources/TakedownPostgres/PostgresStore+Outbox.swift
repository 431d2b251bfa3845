import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// The channel every instance listens on; a notification means deliveries were queued.
    public static let outboxChannel = "takedown_outbox"

    public func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryPage.Entry] {
        try await rows(query.listing.query).map {
            DeliveryPage.Entry(position: try $0.get("position"), delivery: try Self.delivery(from: $0))
        }
    }

    public func delivery(_ id: DeliveryID) async throws -> (Delivery, [DeliveryAttempt])? {
        guard let row = try await rows("SELECT * FROM deliveries WHERE id = \(id.rawValue)").first else { return nil }
        let attempts = try await rows(
            "SELECT * FROM delivery_attempts WHERE delivery_id = \(id.rawValue) ORDER BY number"
        ).map { row in
            DeliveryAttempt(
                number: try row.get("number"), at: try row.date("at"), statusCode: try row.get("status_code"),
                latencyMs: try row.get("latency_ms"), error: try row.get("error"),
                responseExcerpt: try row.get("response_excerpt"))
        }
        return (try Self.delivery(from: row), attempts)
    }

    public func retryDelivery(_ id: DeliveryID, now: Date) async throws -> Delivery? {
        try await transaction { transaction in
            let rows = try await transaction.rows(
                """
                UPDATE deliveries SET state = 'failed', next_attempt_at = \(now.stored), updated_at = \(now.stored)
                WHERE id = \(id.rawValue) AND state IN ('failed', 'dead')
                RETURNING *
                """)
            guard let row = rows.first else { return nil }
            try await Self.notifyOutbox(transaction)
            return try Self.delivery(from: row)
        }
    }

    public func requeueDeliveries(partner: PartnerID, since: Date, until: Date, now: Date) async throws -> Int {
        try await transaction { transaction in
            let count = try await transaction.count(
                """
                UPDATE deliveries SET state = 'failed', next_attempt_at = \(now.stored), updated_at = \(now.stored)
                WHERE partner_id = \(partner.rawValue) AND state IN ('failed', 'dead')
                  AND created_at >= \(since.stored) AND created_at < \(until.stored)
                RETURNING 1
                """)
            if count > 0 { try await Self.notifyOutbox(transaction) }
            return count
        }
    }

    public func resumeEndpoints(partner: PartnerID, now: Date) async throws -> Int {
        try await transaction { transaction in
            let count = try await transaction.count(
                """
                UPDATE endpoints SET paused_at = NULL, disabled_at = NULL, failing_since = NULL
                WHERE partner_id = \(partner.rawValue) AND (paused_at IS NOT NULL OR disabled_at IS NOT NULL)
                RETURNING 1
                """)
            if count > 0 { try await Self.notifyOutbox(transaction) }
            return count
        }
    }

    public func endpointStates(partner: PartnerID?) async throws -> [EndpointState] {
        let found: [PostgresRandomAccessRow]
        if let partner {
            found = try await rows(
                """
                SELECT * FROM endpoints WHERE attempted AND partner_id = \(partner.rawValue) ORDER BY channel, endpoint
                """)
        } else {
            found = try await rows("SELECT * FROM endpoints WHERE attempted ORDER BY partner_id, channel, endpoint")
        }
        return try found.map(Self.endpointState(from:))
    }

    static func endpointState(from row: PostgresRandomAccessRow) throws -> EndpointState {
        EndpointState(
            partnerId: PartnerID(rawValue: try row.get("partner_id")),
            channel: DeliveryChannel(rawValue: try row.get("channel")) ?? .webhook,
            endpoint: try row.get("endpoint"), failingSince: try row.optionalDate("failing_since"),
            lastSuccessAt: try row.optionalDate("last_success_at"), pausedAt: try row.optionalDate("paused_at"),
            disabledAt: try row.optionalDate("disabled_at"))
    }

    public func outboxStats(now: Date) async throws -> OutboxStats {
        let row = try await rows(
            """
            SELECT (SELECT count(*) FROM deliveries WHERE state IN ('pending', 'failed', 'in_flight')) AS depth,
                   (SELECT min(next_attempt_at) FROM deliveries
                    WHERE state IN ('pending', 'failed') AND next_attempt_at <= \(now.stored)) AS oldest
            """
        ).first
        let depth = try row?.get("depth", as: Int.self) ?? 0
        let oldest = try row?.get("oldest", as: Double?.self)
        return OutboxStats(depth: depth, oldestDueAge: oldest.map { max(0, now.stored - $0) } ?? 0)
    }

    public func addWebhookSecret(partner: PartnerID, secret: String, now: Date, previousUntil: Date) async throws {
        try await transaction { transaction in
            try await Self.addWebhookSecret(
                partner, try self.secrets.seal(secret), now: now, previousUntil: previousUntil, transaction)
        }
    }

    public func webhookSecrets(partners: [PartnerID], now: Date) async throws -> [PartnerID: [String]] {
        guard !partners.isEmpty else { return [:] }
        var found: [PartnerID: [String]] = [:]
        for row in try await rows(
            """
            SELECT partner_id, secret FROM webhook_secrets
            WHERE partner_id = ANY(\(partners.map(\.rawValue))) AND (expires_at IS NULL OR expires_at > \(now.stored))
            ORDER BY partner_id, created_at DESC, id DESC
            """)
        {
            found[PartnerID(rawValue: try row.get("partner_id")), default: []].append(
                try secrets.opened(try row.get("secret")))
        }
        return found
    }

    /// Stores a secret, already sealed, and ends the older ones at `previousUntil`.
    static func addWebhookSecret(
        _ partner: PartnerID, _ secret: String, now: Date, previousUntil: Date, _ transaction: Transaction
    ) async throws {
        try await transaction.run(
            """
            UPDATE webhook_secrets SET expires_at = \(previousUntil.stored)
            WHERE partner_id = \(partner.rawValue) AND (expires_at IS NULL OR expires_at > \(previousUntil.stored))
            """)
        try await transaction.run(
            """
            INSERT INTO webhook_secrets (partner_id, secret, created_at, expires_at)
            VALUES (\(partner.rawValue), \(secret), \(now.stored), NULL)
            """)
    }

    /// Queues deliveries, making sure each endpoint has the row claims lock (unless the caller did that
    /// first, `endpointsWritten`), and tells listening instances at commit.
    static func insert(_ deliveries: [Delivery], endpointsWritten: Bool = false, _ transaction: Transaction)
        async throws
    {
        guard !deliveries.isEmpty else { return }
        if !endpointsWritten { try await insertEndpoints(of: deliveries, transaction) }
        try await transaction.insertRows(
            """
            INSERT INTO deliveries (id, notice_id, partner_id, channel, endpoint, event_type, event_id, payload, state,
                                    attempts, next_attempt_at, lease_token, created_at, updated_at)
            """, deliveries, columns: 14
        ) { delivery in
            [
                .v(delivery.id.rawValue), .v(delivery.noticeId.rawValue), .v(delivery.partnerId.rawValue),
                .v(delivery.channel.rawValue), .v(delivery.endpoint), .v(delivery.eventType), .v(delivery.eventId),
                .v(delivery.payload), .v(delivery.state.rawValue), .v(delivery.attempts),
                .v(delivery.nextAttemptAt.stored), .v(delivery.leaseToken), .v(delivery.createdAt.stored),
                .v(delivery.updatedAt.stored),
            ]
        }
        try await notifyOutbox(transaction)
    }

    /// The endpoints of `deliveries`, each a row claims lock, made where missing. In key order, in one
    /// statement: two transactions creating the same new endpoints wait for each other in the same order,
    /// never in a cycle. A writer that takes the position counters does this before them, as every other
    /// writer of deliveries does, so none waits for a new endpoint while holding a counter another needs.
    static func insertEndpoints(of deliveries: [Delivery], _ transaction: Transaction) async throws {
        guard !deliveries.isEmpty else { return }
        try await transaction.run(
            """
            INSERT INTO endpoints (partner_id, channel, endpoint)
            SELECT DISTINCT * FROM unnest(\(deliveries.map(\.partnerId.rawValue))::text[],
                                         \(deliveries.map(\.channel.rawValue))::text[],
                                         \(deliveries.map(\.endpoint))::text[])
            ORDER BY 1, 2, 3
            ON CONFLICT DO NOTHING
            """)
    }

    /// Wakes every listening instance's worker; PostgreSQL delivers it at commit (and never on rollback).
    static func notifyOutbox(_ transaction: Transaction) async throws {
        try await transaction.run("SELECT pg_notify(\(outboxChannel), '')")
    }

    static func delivery(from row: PostgresRandomAccessRow) throws -> Delivery {
        Delivery(
            id: DeliveryID(rawValue: try row.get("id")), noticeId: NoticeID(rawValue: try row.get("notice_id")),
            partnerId: PartnerID(rawValue: try row.get("partner_id")),
            channel: DeliveryChannel(rawValue: try row.get("channel")) ?? .webhook, endpoint: try row.get("endpoint"),
            eventType: try row.get("event_type"), eventId: try row.get("event_id"), payload: try row.get("payload"),
            state: DeliveryState(rawValue: try row.get("state")) ?? .pending, attempts: try row.get("attempts"),
            nextAttemptAt: try row.date("next_attempt_at"), leaseToken: try row.get("lease_token"),
            leaseOwner: try row.get("lease_owner"), leaseExpiresAt: try row.optionalDate("lease_expires_at"),
            lastError: try row.get("last_error"), lastStatus: try row.get("last_status"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }
}
