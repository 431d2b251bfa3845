import Foundation

/// One signed takedown notice for one (case, provider); its document never changes after issue.
public struct Notice: Codable, Sendable, Equatable {
    public var id: NoticeID
    /// Store-assigned position in issue order; the polling cursor is built from it.
    public var position: Int64
    public var caseId: CaseID
    public var partnerId: PartnerID
    public var status: NoticeStatus
    public var issuedAt: Date
    public var deadlineAt: Date
    public var acknowledgedAt: Date?
    public var removedAt: Date?
    /// When verification found every item gone (the notice became `verified`).
    public var verifiedAt: Date?
    /// Items by URL, with their removal state.
    public var items: [NoticeItem]
    /// The canonical JSON of the signed payload, byte for byte.
    public var document: Data
    /// The compact JWS over `document`.
    public var jws: String
    public var timeline: [TimelineEvent]
    /// How many times the notice has been sent: 1 at issue, one more per reminder.
    public var sequence: Int = 1
    /// The index of the next escalation-ladder step.
    public var ladderStep: Int = 0
    /// The SLA policy whose deadline and ladder the notice follows, fixed at issue.
    public var slaPolicyId: SLAPolicyID = .standard
    /// When the gateway next checks the items' URLs; nil when no check is planned.
    public var verifyDueAt: Date?
    /// When the removal clock (the deadline's window and the escalation ladder) last started, when not at
    /// issue: a staff decision upholding a dispute starts it again.
    public var clockFrom: Date?

    /// When the removal clock started: issue, or the latest decision that restarted it.
    public var clockStart: Date { clockFrom ?? issuedAt }

    /// Seconds from issue to the last item's removal, once every item is gone.
    public var timeToRemoval: Double? { removedAt.map { $0.timeIntervalSince(issuedAt) } }

    /// Seconds from issue until verification found every item gone.
    public var timeToVerifiedRemoval: Double? { verifiedAt.map { $0.timeIntervalSince(issuedAt) } }

    public init(
        id: NoticeID, position: Int64 = 0, caseId: CaseID, partnerId: PartnerID, status: NoticeStatus,
        issuedAt: Date, deadlineAt: Date, acknowledgedAt: Date? = nil, removedAt: Date? = nil,
        items: [NoticeItem], document: Data, jws: String, timeline: [TimelineEvent]
    ) {
        self.id = id
        self.position = position
        self.caseId = caseId
        self.partnerId = partnerId
        self.status = status
        self.issuedAt = issuedAt
        self.deadlineAt = deadlineAt
        self.acknowledgedAt = acknowledgedAt
        self.removedAt = removedAt
        self.items = items
        self.document = document
        self.jws = jws
        self.timeline = timeline
    }
}

/// An item as the notice tracks it: the URL, when (and how) the provider reported it gone, and when the
/// gateway's own check found it gone.
public struct NoticeItem: Codable, Sendable, Equatable {
    public var url: String
    public var removedAt: Date?
    public var action: RemovalAction?
    /// When a verification check found the URL gone or serving other content; cleared if it is served again.
    public var verifiedAt: Date?

    public init(url: String, removedAt: Date? = nil, action: RemovalAction? = nil) {
        self.url = url
        self.removedAt = removedAt
        self.action = action
    }
}

public enum RemovalAction: String, Codable, Sendable, CaseIterable {
    case removed
    case disabled
}

public enum NoticeStatus: String, Codable, Sendable, CaseIterable {
    case issued
    case delivered
    case acknowledged
    case removed
    case verified
    case unable
    case disputed
    case withdrawn
    case expired

    /// Still waiting for the provider to act.
    public var isOpen: Bool {
        switch self {
        case .issued, .delivered, .acknowledged, .unable, .disputed: return true
        case .removed, .verified, .withdrawn, .expired: return false
        }
    }
}

/// A timestamped step on a notice's timeline.
public struct TimelineEvent: Codable, Sendable, Equatable {
    public var at: Date
    public var event: String
    public var actor: String
    public var detail: String?

    public init(at: Date, event: String, actor: String, detail: String? = nil) {
        self.at = at
        self.event = event
        self.actor = actor
        self.detail = detail
    }
}

extension TimelineEvent {
    /// The event as a partner may see it: the partner itself by name, every other actor (staff, the
    /// gateway, other partners) as `hotline`, and no detail that names another partner.
    public func seen(by partner: PartnerID) -> TimelineEvent {
        var event = self
        if actor != "partner:\(partner)" { event.actor = "hotline" }
        if self.event == "escalated" || self.event == "issued" { event.detail = nil }
        return event
    }
}
