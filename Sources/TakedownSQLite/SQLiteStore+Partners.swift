import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertPartner(
        _ partner: Partner, token: TokenRecord, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws {
        let routing = try StoredJSON.encode(partner.routing)
        let delivery = try StoredJSON.encode(partner.delivery)
        try await guarded {
            try await write { db in
                // GRDB's write transactions run one at a time, so the check sees every committed partner.
                try check(
                    try Row.fetchAll(db, sql: "SELECT * FROM partners ORDER BY position").map(Self.partner(from:)))
                try db.execute(
                    sql: """
                        INSERT INTO partners (id, name, kind, contact_email, locale, jurisdiction, routing, delivery,
                                              sla_policy_id, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        partner.id.rawValue, partner.name, partner.kind.rawValue, partner.contactEmail, partner.locale,
                        partner.jurisdiction, routing, delivery, partner.slaPolicyId.rawValue,
                        partner.createdAt.storedValue, partner.updatedAt.storedValue,
                    ])
                try Self.insert(token, db)
                if let webhookSecret {
                    try Self.addWebhookSecret(
                        partner.id, try self.secrets.seal(webhookSecret), now: partner.createdAt,
                        previousUntil: partner.createdAt, db)
                }
            }
        }
    }

    public func partner(_ id: PartnerID) async throws -> Partner? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM partners WHERE id = ?", arguments: [id.rawValue])
                    .map(Self.partner(from:))
            }
        }
    }

    public func partners() async throws -> [Partner] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM partners ORDER BY position").map(Self.partner(from:))
            }
        }
    }

    public func updatePartner(
        _ partner: Partner, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws {
        let routing = try StoredJSON.encode(partner.routing)
        let delivery = try StoredJSON.encode(partner.delivery)
        try await guarded {
            try await write { db in
                try check(
                    try Row.fetchAll(db, sql: "SELECT * FROM partners ORDER BY position").map(Self.partner(from:)))
                let previous = try Self.channels(of: partner.id, db)
                try db.execute(
                    sql: """
                        UPDATE partners SET name = ?, kind = ?, contact_email = ?, locale = ?, jurisdiction = ?,
                               routing = ?, delivery = ?, sla_policy_id = ?, updated_at = ?
                        WHERE id = ?
                        """,
                    arguments: [
                        partner.name, partner.kind.rawValue, partner.contactEmail, partner.locale, partner.jurisdiction,
                        routing, delivery, partner.slaPolicyId.rawValue, partner.updatedAt.storedValue,
                        partner.id.rawValue,
                    ])
                if db.changesCount == 0 { throw StoreError.notFound }
                if let previous {
                    try Self.followChannels(
                        of: partner.id, from: previous, to: partner.delivery, at: partner.updatedAt, db)
                }
                if let webhookSecret {
                    try Self.addWebhookSecret(
                        partner.id, try self.secrets.seal(webhookSecret), now: partner.updatedAt,
                        previousUntil: partner.updatedAt, db)
                }
            }
        }
    }

    static func partner(from row: Row) throws -> Partner {
        Partner(
            id: PartnerID(rawValue: row["id"]), name: row["name"],
            kind: PartnerKind(rawValue: row["kind"]) ?? .hostingProvider, contactEmail: row["contact_email"],
            locale: row["locale"], jurisdiction: row["jurisdiction"],
            routing: try StoredJSON.decode(RoutingRules.self, row["routing"]),
            delivery: try StoredJSON.decode(DeliveryChannels.self, row["delivery"]),
            slaPolicyId: SLAPolicyID(rawValue: row["sla_policy_id"]), createdAt: Date(stored: row["created_at"]),
            updatedAt: Date(stored: row["updated_at"]),
            suspendedAt: (row["suspended_at"] as Double?).map(Date.init(stored:)),
            suspensionReason: row["suspension_reason"])
    }
}
