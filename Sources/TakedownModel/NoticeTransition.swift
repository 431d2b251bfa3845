import Foundation

/// Something a provider or staff member says about a notice.
public enum NoticeAnswer: Sendable, Equatable {
    case retrieved
    case acknowledge
    /// `urls` nil means every item.
    case removal(action: RemovalAction, removedAt: Date?, urls: [String]?)
    case unable(reason: String)
    case dispute(reason: String)
    case withdraw(reason: String)
    /// Staff decide a dispute (or an appeal): `uphold` keeps the notice and restarts its clock from now;
    /// otherwise the dispute is accepted and the notice withdrawn. The reason is shown to the provider.
    case decideDispute(uphold: Bool, reason: String)
    /// The provider appeals an upheld dispute, once.
    case appeal(reason: String)

    var name: String {
        switch self {
        case .retrieved: return "retrieve"
        case .acknowledge: return "acknowledge"
        case .removal: return "removal"
        case .unable: return "unable"
        case .dispute: return "dispute"
        case .withdraw: return "withdraw"
        case .decideDispute: return "a dispute decision"
        case .appeal: return "appeal"
        }
    }
}

/// Why an answer cannot apply to a notice in its current state.
public enum TransitionError: Error, Equatable, Sendable {
    case forbidden(from: NoticeStatus, answer: String)
    case unknownURLs([String])
    /// An appeal is decided by someone other than the staff member who upheld the dispute.
    case sameDecider(String)
    /// An upheld dispute may be appealed once, and a notice disputed once: after that, only an appeal.
    case alreadyDecided(String)
}

extension Notice {
    /// Applies an answer, returning whether anything changed. Repeating an answer changes nothing;
    /// a step the state machine forbids throws.
    public mutating func apply(_ answer: NoticeAnswer, at now: Date, actor: String) throws(TransitionError) -> Bool {
        switch answer {
        case .retrieved:
            guard status == .issued else { return false }
            status = .delivered
            record("delivered", at: now, actor: actor, detail: "retrieved by the recipient")
            return true

        case .acknowledge:
            switch status {
            case .issued, .delivered:
                status = .acknowledged
                acknowledgedAt = now
                record("acknowledged", at: now, actor: actor)
                return true
            case .acknowledged, .removed, .verified:
                return false
            case .unable, .disputed, .withdrawn, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }

        case .removal(let action, let removedAt, let urls):
            switch status {
            case .issued, .delivered, .acknowledged, .unable, .disputed, .removed:
                return try markRemoved(urls: urls, action: action, at: removedAt ?? now, now: now, actor: actor)
            case .verified:
                return false
            case .withdrawn, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }

        case .unable(let reason):
            switch status {
            case .issued, .delivered, .acknowledged:
                status = .unable
                record("unable", at: now, actor: actor, detail: reason)
                return true
            case .unable:
                return false
            case .removed, .verified, .disputed, .withdrawn, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }

        case .dispute(let reason):
            if status != .disputed, lastEvent("dispute_upheld") != nil {
                throw .alreadyDecided("this notice's dispute was upheld; appeal the decision instead")
            }
            switch status {
            case .issued, .delivered, .acknowledged, .unable:
                status = .disputed
                record("disputed", at: now, actor: actor, detail: reason)
                return true
            case .disputed:
                return false
            case .removed, .verified, .withdrawn, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }

        case .withdraw(let reason):
            switch status {
            case .issued, .delivered, .acknowledged, .unable, .disputed:
                status = .withdrawn
                record("withdrawn", at: now, actor: actor, detail: reason)
                return true
            case .withdrawn:
                return false
            case .removed, .verified, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }

        case .decideDispute(let uphold, let reason):
            guard status == .disputed else { throw .forbidden(from: status, answer: answer.name) }
            let appealed = isAppealed
            if appealed, let upheld = lastEvent("dispute_upheld"), upheld.actor == actor {
                throw .sameDecider(upheld.actor)
            }
            if uphold {
                // The clock starts again from the decision: a fresh window as long as the first.
                deadlineAt = now.addingTimeInterval(deadlineAt.timeIntervalSince(clockStart))
                clockFrom = now
                status = acknowledgedAt != nil ? .acknowledged : .delivered
                record(appealed ? "appeal_dismissed" : "dispute_upheld", at: now, actor: actor, detail: reason)
            } else {
                status = .withdrawn
                record(appealed ? "appeal_granted" : "dispute_accepted", at: now, actor: actor, detail: reason)
            }
            return true

        case .appeal(let reason):
            guard lastEvent("dispute_upheld") != nil else { throw .forbidden(from: status, answer: answer.name) }
            if status == .disputed, isAppealed { return false }
            guard lastEvent("appealed") == nil else {
                throw .alreadyDecided("an upheld dispute is appealed once; this notice's appeal was decided")
            }
            switch status {
            case .issued, .delivered, .acknowledged:
                status = .disputed
                record("appealed", at: now, actor: actor, detail: reason)
                return true
            case .unable, .disputed, .removed, .verified, .withdrawn, .expired:
                throw .forbidden(from: status, answer: answer.name)
            }
        }
    }

    /// Whether an answer would change the notice now, by the rules `apply` enforces: tried on a copy, so a
    /// page offers only what the state machine takes.
    public func accepts(_ answer: NoticeAnswer, at now: Date, actor: String) -> Bool {
        var copy = self
        return (try? copy.apply(answer, at: now, actor: actor)) == true
    }

    /// The timeline events a dispute decision records.
    public static let disputeDecisionEvents: Set<String> = [
        "dispute_upheld", "dispute_accepted", "appeal_dismissed", "appeal_granted",
    ]

    /// The decisions on this notice's dispute and appeal, oldest first.
    public var disputeDecisions: [TimelineEvent] {
        timeline.filter { Self.disputeDecisionEvents.contains($0.event) }
    }

    /// The newest timeline event of a kind.
    public func lastEvent(_ kind: String) -> TimelineEvent? {
        timeline.last { $0.event == kind }
    }

    /// Disputed again by an appeal that no one has decided yet.
    public var isAppealed: Bool {
        guard status == .disputed, let appeal = timeline.lastIndex(where: { $0.event == "appealed" }) else {
            return false
        }
        return !timeline[appeal...].contains { $0.event == "appeal_dismissed" || $0.event == "appeal_granted" }
    }

    private mutating func markRemoved(
        urls: [String]?, action: RemovalAction, at removedTime: Date, now: Date, actor: String
    ) throws(TransitionError) -> Bool {
        let wanted = Set(urls ?? items.map(\.url))
        let unknown = wanted.subtracting(items.map(\.url))
        guard unknown.isEmpty else { throw .unknownURLs(unknown.sorted()) }

        var newlyRemoved: [String] = []
        for index in items.indices where wanted.contains(items[index].url) && items[index].removedAt == nil {
            items[index].removedAt = removedTime
            items[index].action = action
            newlyRemoved.append(items[index].url)
        }
        guard !newlyRemoved.isEmpty else { return false }
        // Check the URLs at once: a removal report is what verification is for.
        verifyDueAt = now

        // A removal report implies the provider had seen the notice by the time it removed the items.
        if acknowledgedAt == nil { acknowledgedAt = min(now, removedTime) }
        if items.allSatisfy({ $0.removedAt != nil }) {
            status = .removed
            removedAt = items.compactMap(\.removedAt).max()
            record("removed", at: now, actor: actor, detail: "\(action.rawValue): \(newlyRemoved.count) item(s)")
        } else {
            if status == .issued || status == .delivered || status == .unable || status == .disputed {
                status = .acknowledged
            }
            record(
                "removal_reported", at: now, actor: actor,
                detail: "\(action.rawValue): \(newlyRemoved.count) of \(items.count) item(s)")
        }
        return true
    }

    private mutating func record(_ event: String, at: Date, actor: String, detail: String? = nil) {
        timeline.append(TimelineEvent(at: at, event: event, actor: actor, detail: detail))
    }
}
