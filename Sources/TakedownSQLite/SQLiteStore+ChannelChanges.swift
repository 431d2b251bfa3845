import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    /// A partner's delivery channels as stored, read inside a transaction before it changes them.
    static func channels(of partner: PartnerID, _ db: Database) throws -> DeliveryChannels? {
        try String.fetchOne(db, sql: "SELECT delivery FROM partners WHERE id = ?", arguments: [partner.rawValue])
            .map { try StoredJSON.decode(DeliveryChannels.self, $0) }
    }

    /// Makes a partner's deliveries not yet done follow its channels (`ChannelChange`), in the transaction
    /// that changes the partner: a moved channel's rows go to the new address, a removed one's are cancelled.
    /// Rows in flight are included: their send goes on, but its outcome is recorded (and a retry sent) at
    /// the new address, or not at all once cancelled.
    static func followChannels(
        of partner: PartnerID, from old: DeliveryChannels, to new: DeliveryChannels, at now: Date, _ db: Database
    ) throws {
        for change in ChannelChange.between(old, new) {
            switch change {
            case .moved(let channel, let endpoint):
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM deliveries
                        WHERE partner_id = ? AND channel = ? AND state IN ('pending', 'failed', 'in_flight')
                        """,
                    arguments: [partner.rawValue, channel.rawValue])
                let update = try db.cachedStatement(
                    sql: "UPDATE deliveries SET endpoint = ?, payload = ?, updated_at = ? WHERE id = ?")
                for row in rows {
                    let moved = try Self.delivery(from: row).redirected(to: endpoint, at: now)
                    try update.execute(arguments: [moved.endpoint, moved.payload, now.storedValue, moved.id.rawValue])
                }
            case .removed(let channel):
                try db.execute(
                    sql: """
                        UPDATE deliveries SET state = 'cancelled', last_error = ?, lease_owner = NULL,
                               lease_expires_at = NULL, updated_at = ?
                        WHERE partner_id = ? AND channel = ? AND state IN ('pending', 'failed', 'in_flight')
                        """,
                    arguments: [
                        ChannelChange.cancellation(channel), now.storedValue, partner.rawValue, channel.rawValue,
                    ])
            }
        }
    }
}
