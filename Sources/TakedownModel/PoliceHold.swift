import Foundation

/// A case held for the police: its notices are planned (who gets which URLs) but not issued, so no
/// provider sees them, in a listing, a count, a webhook or an email, until a law-enforcement partner (or
/// staff on its behalf) releases the hold. Release issues them as usual, their clocks starting then.
///
/// The plan, not signed notices, is what is kept: a notice is composed and signed at release, so its
/// `issued_at` and deadline are the release's.
public struct PoliceHold: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case held
        case released
    }

    /// The URLs one recipient will get, in one notice, at release.
    public struct Planned: Codable, Sendable, Equatable {
        public var partnerId: PartnerID
        public var urls: [String]

        public init(partnerId: PartnerID, urls: [String]) {
            self.partnerId = partnerId
            self.urls = urls
        }
    }

    public var id: HoldID
    public var caseId: CaseID
    /// The law-enforcement partner that clears the hold.
    public var policePartnerId: PartnerID
    public var status: Status
    public var reason: String?
    public var heldAt: Date
    public var heldBy: String
    /// When the hold should end: past it, an open hold is escalated to staff.
    public var endsAt: Date
    public var plan: [Planned]
    /// The last delay asked for, and why.
    public var delayedAt: Date?
    public var delayedBy: String?
    public var delayReason: String?
    public var escalatedAt: Date?
    public var releasedAt: Date?
    public var releasedBy: String?
    /// The notices release issued, in plan order.
    public var noticeIds: [NoticeID]

    public init(
        id: HoldID, caseId: CaseID, policePartnerId: PartnerID, reason: String?, heldAt: Date, heldBy: String,
        endsAt: Date, plan: [Planned]
    ) {
        self.id = id
        self.caseId = caseId
        self.policePartnerId = policePartnerId
        self.status = .held
        self.reason = reason
        self.heldAt = heldAt
        self.heldBy = heldBy
        self.endsAt = endsAt
        self.plan = plan
        self.noticeIds = []
    }

    /// The longest a hold may run, from the hold, however often it is delayed.
    public static let longest: TimeInterval = 180 * 86_400
    /// How long a hold runs when the analyst names no end.
    public static let standardLength: TimeInterval = 72 * 3_600

    /// Seconds from hold to release; nil while held.
    public var secondsHeld: Double? { releasedAt.map { $0.timeIntervalSince(heldAt) } }

    /// Held past its end at `now`.
    public func isOverdue(at now: Date) -> Bool { status == .held && endsAt <= now }

    /// Who may see, delay and release it: staff, and its police partner.
    public func isVisible(to principal: Principal) -> Bool {
        principal.isStaff || principal.partnerID == policePartnerId
    }

    /// Moves the end to `until` (a delay asked for by the police); checks the new end.
    public mutating func delay(until: Date, reason: String?, at now: Date, by actor: String) throws(ValidationError) {
        var v = Validator()
        if status != .held { v.fail("status", "the hold was released") }
        if until <= now { v.fail("until", "must be in the future") }
        if until > heldAt.addingTimeInterval(Self.longest) {
            v.fail("until", "must be within 180 days of the hold (\(Timestamp.format(heldAt)))")
        }
        if let reason, reason.count > 2_000 { v.fail("reason", "must be at most 2000 characters") }
        try v.check()
        endsAt = until
        delayedAt = now
        delayedBy = actor
        delayReason = reason
        escalatedAt = nil
    }
}

/// `police_hold` of a case submission: which law-enforcement partner clears it, why, and until when.
public struct PoliceHoldInput: Codable, Sendable {
    public var partnerId: String?
    public var reason: String?
    public var until: Date?

    public init(partnerId: String? = nil, reason: String? = nil, until: Date? = nil) {
        self.partnerId = partnerId
        self.reason = reason
        self.until = until
    }

    /// The checked partner id, reason and end (`standardLength` from now when none is named).
    public func validated(at now: Date) throws(ValidationError) -> (PartnerID, String?, Date) {
        var v = Validator()
        var partner: PartnerID?
        if let text = v.require(partnerId, "police_hold.partner_id") {
            partner = PartnerID.parse(text)
            if partner == nil { v.fail("police_hold.partner_id", "must be a partner id (ptn_…)") }
        }
        let reason = v.text(reason, "police_hold.reason", max: 2_000, required: false)
        let end = until ?? now.addingTimeInterval(PoliceHold.standardLength)
        if end <= now { v.fail("police_hold.until", "must be in the future") }
        if end > now.addingTimeInterval(PoliceHold.longest) {
            v.fail("police_hold.until", "must be within 180 days")
        }
        try v.check()
        return (partner!, reason, end)
    }
}

/// `POST /v1/holds/{id}/delay`.
public struct HoldDelayInput: Codable, Sendable {
    public var until: Date?
    public var reason: String?

    public init(until: Date? = nil, reason: String? = nil) {
        self.until = until
        self.reason = reason
    }
}
