import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func insertPartner(
        _ partner: Partner, token: TokenRecord, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws {
        let routing = try StoredJSON.encode(partner.routing)
        let delivery = try StoredJSON.encode(partner.delivery)
        try await transaction { transaction in
            try check(try await Self.partnersLocked(transaction))
            try await transaction.run(
                """
                INSERT INTO partners (id, name, kind, contact_email, locale, jurisdiction, routing, delivery,
                                      sla_policy_id, created_at, updated_at)
                VALUES (\(partner.id.rawValue), \(partner.name), \(partner.kind.rawValue), \(partner.contactEmail),
                        \(partner.locale), \(partner.jurisdiction), \(routing), \(delivery),
                        \(partner.slaPolicyId.rawValue), \(partner.createdAt.stored), \(partner.updatedAt.stored))
                """)
            try await Self.insert(token, transaction)
            if let webhookSecret {
                try await Self.addWebhookSecret(
                    partner.id, try self.secrets.seal(webhookSecret), now: partner.createdAt,
                    previousUntil: partner.createdAt, transaction)
            }
        }
    }

    public func partner(_ id: PartnerID) async throws -> Partner? {
        try await rows("SELECT * FROM partners WHERE id = \(id.rawValue)").first.map(Self.partner(from:))
    }

    public func partners() async throws -> [Partner] {
        try await rows("SELECT * FROM partners ORDER BY position").map(Self.partner(from:))
    }

    public func updatePartner(
        _ partner: Partner, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws {
        let routing = try StoredJSON.encode(partner.routing)
        let delivery = try StoredJSON.encode(partner.delivery)
        try await transaction { transaction in
            try check(try await Self.partnersLocked(transaction))
            let previous = try await Self.channels(of: partner.id, transaction)
            let changed = try await transaction.count(
                """
                UPDATE partners SET name = \(partner.name), kind = \(partner.kind.rawValue),
                       contact_email = \(partner.contactEmail), locale = \(partner.locale),
                       jurisdiction = \(partner.jurisdiction), routing = \(routing), delivery = \(delivery),
                       sla_policy_id = \(partner.slaPolicyId.rawValue), updated_at = \(partner.updatedAt.stored)
                WHERE id = \(partner.id.rawValue)
                RETURNING 1
                """)
            if changed == 0 { throw StoreError.notFound }
            if let previous {
                try await Self.followChannels(
                    of: partner.id, from: previous, to: partner.delivery, at: partner.updatedAt, transaction)
            }
            if let webhookSecret {
                try await Self.addWebhookSecret(
                    partner.id, try self.secrets.seal(webhookSecret), now: partner.updatedAt,
                    previousUntil: partner.updatedAt, transaction)
            }
        }
    }

    /// Every partner, read after taking the transaction-scoped lock that every writer of partners takes,
    /// so two writers check their rules one after the other (READ COMMITTED alone would let both pass).
    static func partnersLocked(_ transaction: Transaction) async throws -> [Partner] {
        try await transaction.run("SELECT pg_advisory_xact_lock(\(Self.partnerWriteLock))")
        return try await transaction.rows("SELECT * FROM partners ORDER BY position").map(Self.partner(from:))
    }

    /// The advisory lock key that serialises partner writes ("PTNR").
    static let partnerWriteLock: Int64 = 0x5054_4E52

    static func partner(from row: PostgresRandomAccessRow) throws -> Partner {
        Partner(
            id: PartnerID(rawValue: try row.get("id")), name: try row.get("name"),
            kind: PartnerKind(rawValue: try row.get("kind")) ?? .hostingProvider,
            contactEmail: try row.get("contact_email"), locale: try row.get("locale"),
            jurisdiction: try row.get("jurisdiction"),
            routing: try StoredJSON.decode(RoutingRules.self, try row.get("routing")),
            delivery: try StoredJSON.decode(DeliveryChannels.self, try row.get("delivery")),
            slaPolicyId: SLAPolicyID(rawValue: try row.get("sla_policy_id")), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"), suspendedAt: try row.optionalDate("suspended_at"),
            suspensionReason: try row.get("suspension_reason"))
    }
}
