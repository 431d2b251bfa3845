import Foundation
import TakedownModel

/// The JSON body of a webhook (and the JSON attachment of an email):
/// `{"created_at", "data": {…notice…, "document", "jws"}, "id", "type"}`, with the signed document
/// spliced in as its canonical bytes.
public enum WebhookEvent {
    public static let issued = "notice.issued"
    public static let reminder = "notice.reminder"
    public static let withdrawn = "notice.withdrawn"
    public static let escalated = "notice.escalated"
    /// Staff decided a dispute or an appeal: the notice stands (its clock restarted) or is withdrawn.
    public static let disputeDecided = "notice.dispute_decided"

    /// A new event id; it is the `webhook-id` of every attempt of the delivery.
    public static func newID() -> String {
        "msg_" + NoticeID.generate().rawValue.dropFirst(NoticeID.prefix.count)
    }

    struct Summary: Encodable {
        var id: NoticeID
        var status: NoticeStatus
        var partnerId: PartnerID
        var issuedAt: Date
        var deadlineAt: Date
        var items: [NoticeItem]
        var jws: String
        var sequence: Int
        var reason: String?
    }

    struct Envelope: Encodable {
        var createdAt: Date
        var id: String
        var type: String
    }

    public static func body(
        type: String, id: String, createdAt: Date, notice: Notice, sequence: Int = 1, reason: String? = nil
    )
        throws -> Data
    {
        let encoder = WireFormat.encoder()
        let summary = try encoder.encode(
            Summary(
                id: notice.id, status: notice.status, partnerId: notice.partnerId, issuedAt: notice.issuedAt,
                deadlineAt: notice.deadlineAt, items: notice.items, jws: notice.jws, sequence: sequence, reason: reason)
        )
        var data = Data("{\"data\":{\"document\":".utf8)
        data.append(notice.document)
        data.append(UInt8(ascii: ","))
        data.append(summary.dropFirst())
        let envelope = try encoder.encode(Envelope(createdAt: createdAt, id: id, type: type))
        data.append(UInt8(ascii: ","))
        data.append(envelope.dropFirst())
        return data
    }
}
