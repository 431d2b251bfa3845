import Foundation

/// `POST /v1/sla-policies` as sent, before any check.
public struct SLAPolicyInput: Codable, Sendable {
    public struct StepInput: Codable, Sendable {
        public var afterSeconds: Int?
        public var action: String?

        public init(afterSeconds: Int? = nil, action: String? = nil) {
            self.afterSeconds = afterSeconds
            self.action = action
        }
    }

    /// The longest deadline or step offset a policy may name: one year.
    public static let maxSeconds = 366 * 86_400
    public static let maxSteps = 20

    public var name: String?
    public var deadlineSeconds: Int?
    public var ladder: [StepInput]?
    public var escalationPartnerId: String?

    public init(
        name: String? = nil, deadlineSeconds: Int? = nil, ladder: [StepInput]? = nil,
        escalationPartnerId: String? = nil
    ) {
        self.name = name
        self.deadlineSeconds = deadlineSeconds
        self.ladder = ladder
        self.escalationPartnerId = escalationPartnerId
    }

    /// A new policy from a complete input; whether the escalation partner exists is the gateway's check.
    public func validated(id: SLAPolicyID, at now: Date) throws(ValidationError) -> SLAPolicy {
        var v = Validator()
        let checkedName = v.text(name, "name", max: 200)
        if let deadlineSeconds, !(1...Self.maxSeconds).contains(deadlineSeconds) {
            v.fail("deadline_seconds", "must be between 1 and \(Self.maxSeconds) seconds")
        }
        _ = v.require(deadlineSeconds, "deadline_seconds")
        var steps: [SLAStep] = []
        if let ladder = v.require(ladder, "ladder") {
            if ladder.count > Self.maxSteps { v.fail("ladder", "must have at most \(Self.maxSteps) steps") }
            for (index, input) in ladder.enumerated() {
                let after = v.require(input.afterSeconds, "ladder[\(index)].after_seconds")
                if let after, !(0...Self.maxSeconds).contains(after) {
                    v.fail("ladder[\(index)].after_seconds", "must be between 0 and \(Self.maxSeconds) seconds")
                }
                let action: SLAStep.Action? = v.choice(input.action, "ladder[\(index)].action")
                if let after, let action { steps.append(SLAStep(afterSeconds: after, action: action)) }
            }
            let sorted = steps.sorted { $0.afterSeconds < $1.afterSeconds }
            if let expiry = sorted.firstIndex(where: { $0.action == .expiry }), expiry != sorted.count - 1 {
                v.fail("ladder", "expiry must be the last step: nothing happens to an expired notice")
            }
        }
        var partner: PartnerID?
        if let text = escalationPartnerId {
            partner = PartnerID.parse(text)
            if partner == nil { v.fail("escalation_partner_id", "must be a partner id (ptn_…)") }
        }
        try v.check()
        return SLAPolicy(
            id: id, name: checkedName!, deadlineSeconds: deadlineSeconds!, ladder: steps, escalationPartnerId: partner,
            createdAt: now)
    }
}
