import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// A partner's delivery channels as stored, read inside a transaction before it changes them.
    static func channels(of partner: PartnerID, _ transaction: Transaction) async throws -> DeliveryChannels? {
        guard let row = try await transaction.rows("SELECT delivery FROM partners WHERE id = \(partner.rawValue)").first
        else { return nil }
        return try StoredJSON.decode(DeliveryChannels.self, try row.get("delivery", as: String.self))
    }

    /// Makes a partner's deliveries not yet done follow its channels (`ChannelChange`), in the transaction
    /// that changes the partner: a moved channel's rows go to the new address, a removed one's are cancelled.
    /// Rows in flight are included: their send goes on, but its outcome is recorded (and a retry sent) at
    /// the new address, or not at all once cancelled.
    static func followChannels(
        of partner: PartnerID, from old: DeliveryChannels, to new: DeliveryChannels, at now: Date,
        _ transaction: Transaction
    ) async throws {
        for change in ChannelChange.between(old, new) {
            switch change {
            case .moved(let channel, let endpoint):
                // Claims start from the endpoint rows: the new address needs one.
                try await transaction.run(
                    """
                    INSERT INTO endpoints (partner_id, channel, endpoint)
                    VALUES (\(partner.rawValue), \(channel.rawValue), \(endpoint)) ON CONFLICT DO NOTHING
                    """)
                let rows = try await transaction.rows(
                    """
                    SELECT * FROM deliveries
                    WHERE partner_id = \(partner.rawValue) AND channel = \(channel.rawValue)
                      AND state IN ('pending', 'failed', 'in_flight')
                    ORDER BY id FOR UPDATE
                    """)
                for row in rows {
                    let moved = try Self.delivery(from: row).redirected(to: endpoint, at: now)
                    try await transaction.run(
                        """
                        UPDATE deliveries SET endpoint = \(moved.endpoint), payload = \(moved.payload),
                               updated_at = \(now.stored)
                        WHERE id = \(moved.id.rawValue)
                        """)
                }
                if !rows.isEmpty { try await Self.notifyOutbox(transaction) }
            case .removed(let channel):
                try await transaction.run(
                    """
                    UPDATE deliveries SET state = 'cancelled', last_error = \(ChannelChange.cancellation(channel)),
                           lease_owner = NULL, lease_expires_at = NULL, updated_at = \(now.stored)
                    WHERE partner_id = \(partner.rawValue) AND channel = \(channel.rawValue)
                      AND state IN ('pending', 'failed', 'in_flight')
                    """)
            }
        }
    }
}
