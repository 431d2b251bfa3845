import Foundation
import TakedownModel
import TakedownStore

extension SLAPolicyDesk {
    /// The default policy: the deadline and ladder of the settings, under the id `sla_default`.
    public var defaultPolicy: SLAPolicy {
        SLAPolicy.standard(deadline: configuration.defaultDeadline, ladder: configuration.ladder, since: startedAt)
    }

    /// A new named policy. Policies never change once created, so a notice's clock never moves under it.
    public func createSLAPolicy(_ input: SLAPolicyInput) async throws -> SLAPolicy {
        let now = clock()
        // The partner is looked up first so that one answer lists every fault, syntax and existence alike.
        var missing: [FieldError] = []
        if let text = input.escalationPartnerId, let partner = PartnerID.parse(text),
            try await store.partner(partner) == nil
        {
            missing.append(FieldError(name: "escalation_partner_id", reason: "no such partner: \(partner)"))
        }
        let policy: SLAPolicy
        do {
            policy = try input.validated(id: .generate(), at: now)
        } catch {
            throw GatewayError.invalid(ValidationError(error.errors + missing))
        }
        if !missing.isEmpty { throw GatewayError.invalid(ValidationError(missing)) }
        do {
            try await store.insertSLAPolicy(policy)
        } catch StoreError.conflict {
            throw GatewayError.conflict("an SLA policy named \"\(policy.name)\" exists already")
        }
        gateway.invalidateRouting()
        return policy
    }

    /// One policy; `sla_default` is the default one.
    public func slaPolicy(_ id: SLAPolicyID) async throws -> SLAPolicy {
        if id == .standard { return defaultPolicy }
        guard let policy = try await store.slaPolicy(id) else { throw GatewayError.notFound("SLA policy \(id)") }
        return policy
    }

    /// The default policy first, then the stored ones in creation order.
    public func slaPolicies() async throws -> [SLAPolicy] {
        [defaultPolicy] + (try await store.slaPolicies())
    }

}

extension SLAPolicyDesk {
    /// A notice with every check of its URLs, for staff.
    public func verifications(of id: NoticeID) async throws -> (Notice, [VerificationCheck]) {
        guard let notice = try await store.notice(id) else { throw GatewayError.notFound("notice \(id)") }
        return (notice, try await store.verificationChecks(notice: id))
    }
}

/// The core's part: what several use cases share.
extension Gateway {
    /// The policy a partner's new notices follow.
    func policy(for partner: Partner) async throws -> SLAPolicy {
        partner.slaPolicyId == .standard
            ? slaPolicyDesk.defaultPolicy : try await slaPolicyDesk.slaPolicy(partner.slaPolicyId)
    }

    /// Refuses a partner naming a policy that does not exist, before anything is written.
    func checkPolicyExists(_ partner: Partner) async throws {
        guard partner.slaPolicyId != .standard, try await store.slaPolicy(partner.slaPolicyId) == nil else { return }
        throw GatewayError.invalid(
            ValidationError([FieldError(name: "sla_policy_id", reason: "no such SLA policy: \(partner.slaPolicyId)")]))
    }
}
