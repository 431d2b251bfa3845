import Foundation
import TakedownDocuments
import TakedownModel
import TakedownService

/// A notice as the API shows it: the signed document, its JWS, and the state around it.
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
    var items: [NoticeItem]
    var document: NoticeDocument
    var jws: String
    var timeline: [TimelineEvent]
    var cursor: String

    init(_ notice: Notice, gateway: Gateway, for principal: Principal) throws {
        id = notice.id
        status = notice.status
        partnerId = notice.partnerId
        caseId = principal.isStaff ? notice.caseId : nil
        issuedAt = notice.issuedAt
        deadlineAt = notice.deadlineAt
        acknowledgedAt = notice.acknowledgedAt
        removedAt = notice.removedAt
        items = notice.items
        document = try gateway.document(of: notice)
        jws = notice.jws
        timeline = notice.timeline
        cursor = Cursor.encode(notice.position)
    }
}
