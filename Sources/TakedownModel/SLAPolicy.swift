import Foundation

/// A named service level: how long a provider has to act, and the escalation ladder that runs meanwhile.
public struct SLAPolicy: Codable, Sendable, Equatable {
    public var id: SLAPolicyID
    public var name: String
    /// Seconds from issue to the notice's deadline.
    public var deadlineSeconds: Int
    /// Reminders, escalation and expiry, counted from issue.
    public var ladder: [SLAStep]
    /// Who receives `notice.escalated`; nil puts escalations on the timeline only.
    public var escalationPartnerId: PartnerID?
    public var createdAt: Date

    public init(
        id: SLAPolicyID, name: String, deadlineSeconds: Int, ladder: [SLAStep], escalationPartnerId: PartnerID?,
        createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.deadlineSeconds = deadlineSeconds
        self.ladder = ladder.sorted { $0.afterSeconds < $1.afterSeconds }
        self.escalationPartnerId = escalationPartnerId
        self.createdAt = createdAt
    }

    /// Whether this is the default policy from the settings.
    public var isDefault: Bool { id == .standard }

    /// The ladder the gateway climbs for notices under this policy.
    public var escalationLadder: EscalationLadder {
        EscalationLadder(
            steps: ladder.map { step in
                switch step.action {
                case .reminder: return .init(after: TimeInterval(step.afterSeconds), action: .reminder)
                case .escalation:
                    return .init(after: TimeInterval(step.afterSeconds), action: .escalate(to: escalationPartnerId))
                case .expiry: return .init(after: TimeInterval(step.afterSeconds), action: .expire)
                }
            })
    }

    /// The default policy as the settings describe it.
    public static func standard(deadline: TimeInterval, ladder: EscalationLadder, since: Date) -> SLAPolicy {
        var partner: PartnerID?
        let steps = ladder.steps.map { step -> SLAStep in
            switch step.action {
            case .reminder: return SLAStep(afterSeconds: Int(step.after), action: .reminder)
            case .escalate(let to):
                partner = partner ?? to
                return SLAStep(afterSeconds: Int(step.after), action: .escalation)
            case .expire: return SLAStep(afterSeconds: Int(step.after), action: .expiry)
            }
        }
        return SLAPolicy(
            id: .standard, name: "default", deadlineSeconds: Int(deadline), ladder: steps, escalationPartnerId: partner,
            createdAt: since)
    }
}

/// One ladder step of a policy: an action some seconds after issue.
public struct SLAStep: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case reminder
        case escalation
        case expiry
    }

    public var afterSeconds: Int
    public var action: Action

    public init(afterSeconds: Int, action: Action) {
        self.afterSeconds = afterSeconds
        self.action = action
    }
}
