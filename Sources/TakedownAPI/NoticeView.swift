import Foundation
import TakedownDocuments
import TakedownModel
import TakedownService

/// A notice as the API shows it: the signed document, its JWS, and the state around it.
///
/// The document is spliced in as the stored canonical bytes rather than decoded and encoded again:
/// that halves the cost of a page of notices, and shows the provider exactly the bytes that were signed.
struct NoticeView: Encodable {
    var id: NoticeID
    var status: NoticeStatus
    var partnerId: PartnerID
    /// Internal: shown to staff only.
    var caseId: CaseID?
    var issuedAt: Date
    var deadlineAt: Date
    var acknowledgedAt: Date?
    var removedAt: Date?
    var verifiedAt: Date?
    var slaPolicyId: SLAPolicyID
    var items: [NoticeItem]
    var jws: String
    var timeline: [TimelineEvent]
    var cursor: String
    /// For open notices: seconds until the deadline; negative when overdue by that much.
    var timeLeftSeconds: Double?
    private var document: Data

    private enum CodingKeys: String, CodingKey {
        case id, status, partnerId, caseId, issuedAt, deadlineAt, acknowledgedAt, removedAt, verifiedAt, slaPolicyId,
            items, jws, timeline, cursor, timeLeftSeconds
    }

    init(_ notice: Notice, for principal: Principal, now: Date) {
        timeLeftSeconds =
            notice.status.isOpen ? (notice.deadlineAt.timeIntervalSince(now) * 1000).rounded() / 1000 : nil
        id = notice.id
        status = notice.status
        partnerId = notice.partnerId
        caseId = principal.isStaff ? notice.caseId : nil
        issuedAt = notice.issuedAt
        deadlineAt = notice.deadlineAt
        acknowledgedAt = notice.acknowledgedAt
        removedAt = notice.removedAt
        verifiedAt = notice.verifiedAt
        slaPolicyId = notice.slaPolicyId
        items = notice.items
        document = notice.document
        jws = notice.jws
        // Staff see who did what; a partner sees itself and "hotline", never a staff name or another partner.
        timeline =
            principal.partnerID.map { partner in notice.timeline.map { $0.seen(by: partner) } } ?? notice.timeline
        cursor = Cursor.encode(notice.position)
    }
}

extension NoticeView {
    /// `{"document":<canonical bytes>,…the other members…}`.
    func json(encoder: JSONEncoder = WireFormat.encoder()) throws -> Data {
        let rest = try encoder.encode(self)
        var data = Data("{\"document\":".utf8)
        data.append(document)
        if rest.count > 2 { data.append(UInt8(ascii: ",")) }
        data.append(rest.dropFirst())
        return data
    }

    /// `{"next_cursor":"…","notices":[…]}` for a page of notices.
    static func page(_ views: [NoticeView], nextCursor: String) throws -> Data {
        let encoder = WireFormat.encoder()
        var data = Data("{\"next_cursor\":".utf8)
        data.append(try encoder.encode(nextCursor))
        data.append(contentsOf: Array(",\"notices\":[".utf8))
        for (index, view) in views.enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            data.append(try view.json(encoder: encoder))
        }
        data.append(contentsOf: Array("]}".utf8))
        return data
    }
}
