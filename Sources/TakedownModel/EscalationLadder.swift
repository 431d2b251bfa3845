import Foundation

/// What happens to an unanswered notice, and when (counted from issue): reminders, escalation, expiry.
public struct EscalationLadder: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Re-send the same signed notice with the next sequence number.
        case reminder
        /// Tell the escalation partner (upstream provider, hotline or police), if one is named.
        case escalate(to: PartnerID?)
        /// Give up: the notice expires.
        case expire
    }

    public struct Step: Sendable, Equatable {
        public var after: TimeInterval
        public var action: Action

        public init(after: TimeInterval, action: Action) {
            self.after = after
            self.action = action
        }
    }

    public var steps: [Step]

    /// Reminder at +2 h, second reminder at +24 h, escalation at +48 h, expiry at +7 days.
    public static let standard = EscalationLadder(steps: [
        Step(after: 2 * 3600, action: .reminder), Step(after: 24 * 3600, action: .reminder),
        Step(after: 48 * 3600, action: .escalate(to: nil)), Step(after: 7 * 86_400, action: .expire),
    ])

    public init(steps: [Step]) {
        self.steps = steps.sorted { $0.after < $1.after }
    }

    /// Notices in these states are still waiting for the provider; removal, unable, dispute and
    /// withdrawal stop the ladder.
    public static let climbing: Set<NoticeStatus> = [.issued, .delivered, .acknowledged]

    /// Parses `7200:reminder,86400:reminder,172800:escalate,604800:expire` (seconds after issue).
    public init?(parsing text: String, escalateTo partner: PartnerID?) {
        var steps: [Step] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, let seconds = TimeInterval(pieces[0]), seconds.isFinite, seconds >= 0,
                seconds <= 3e8
            else { return nil }
            switch pieces[1] {
            case "reminder": steps.append(Step(after: seconds, action: .reminder))
            case "escalate": steps.append(Step(after: seconds, action: .escalate(to: partner)))
            case "expire": steps.append(Step(after: seconds, action: .expire))
            default: return nil
            }
        }
        self.init(steps: steps)
    }
}

extension Notice {
    /// Takes ladder step `index` if it is the notice's next one and the notice is still climbing. Returns
    /// whether it did (false means another instance took it, or the provider answered meanwhile).
    public mutating func climb(_ step: EscalationLadder.Step, index: Int, at now: Date) -> Bool {
        guard ladderStep == index, EscalationLadder.climbing.contains(status) else { return false }
        ladderStep = index + 1
        switch step.action {
        case .reminder:
            sequence += 1
            timeline.append(
                TimelineEvent(at: now, event: "reminder_sent", actor: "system", detail: "sequence \(sequence)"))
        case .escalate(let partner):
            timeline.append(
                TimelineEvent(
                    at: now, event: "escalated", actor: "system",
                    detail: partner.map { "to \($0)" } ?? "for staff attention (no escalation partner configured)"))
        case .expire:
            status = .expired
            timeline.append(
                TimelineEvent(at: now, event: "expired", actor: "system", detail: "the escalation ladder ran out"))
        }
        return true
    }
}
