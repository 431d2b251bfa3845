import Foundation

extension Notice {
    /// Notices in these states have their URLs checked: open ones on a schedule, removed ones until verified.
    public static let verifiable: Set<NoticeStatus> = [
        .issued, .delivered, .acknowledged, .unable, .disputed, .removed,
    ]

    /// Applies a round of checks. Items found gone are marked verified; a removed notice whose items are all
    /// verified becomes `verified`; an item reported removed but still served re-opens the notice
    /// (`removal_not_verified`) so the ladder carries on. `next` is when to check again, if still needed.
    ///
    /// `claimedUntil` is the due time the claim set: an earlier one means a removal report rescheduled the
    /// check while it ran, so a "still served" answer may predate the removal. It then re-opens nothing, and
    /// the check the report asked for stays due.
    public mutating func applyVerification(
        _ checks: [VerificationCheck], at now: Date, next: Date, claimedUntil: Date? = nil
    ) {
        guard Self.verifiable.contains(status) else {
            verifyDueAt = nil
            return
        }
        var rescheduled: Date?
        if let claimedUntil, let due = verifyDueAt, due < claimedUntil.addingTimeInterval(-0.001) {
            rescheduled = due
        }
        let wasAllGone = items.allSatisfy { $0.verifiedAt != nil }
        var reopened: [String] = []
        for check in checks {
            guard let index = items.firstIndex(where: { $0.url == check.url }) else { continue }
            switch check.outcome {
            case .gone, .contentChanged:
                if items[index].verifiedAt == nil { items[index].verifiedAt = now }
            case .stillServed:
                guard rescheduled == nil else { continue }
                items[index].verifiedAt = nil
                if items[index].removedAt != nil {
                    items[index].removedAt = nil
                    items[index].action = nil
                    reopened.append(check.url)
                }
            case .inconclusive:
                break
            }
        }
        let allGone = items.allSatisfy { $0.verifiedAt != nil }
        verifyDueAt = rescheduled ?? next
        if !reopened.isEmpty {
            if status == .removed {
                status = .acknowledged
                removedAt = nil
            }
            timeline.append(
                TimelineEvent(
                    at: now, event: "removal_not_verified", actor: "system",
                    detail: "still served: \(reopened.count) of \(items.count) item(s)"))
        } else if status == .removed, allGone {
            status = .verified
            verifiedAt = now
            verifyDueAt = nil
            timeline.append(
                TimelineEvent(
                    at: now, event: "verified", actor: "system", detail: "every item checked gone: \(items.count)"))
        } else if allGone, !wasAllGone {
            timeline.append(
                TimelineEvent(
                    at: now, event: "removal_observed", actor: "system",
                    detail: "every item checked gone before the provider reported removal"))
        }
    }
}
