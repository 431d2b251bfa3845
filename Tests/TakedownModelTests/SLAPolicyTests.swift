import Foundation
import TakedownModel
import Testing

@Suite("SLA policies")
struct SLAPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a valid input becomes a policy with its ladder in order")
    func valid() throws {
        let partner = PartnerID.generate()
        let policy = try SLAPolicyInput(
            name: " UK members ", deadlineSeconds: 7200,
            ladder: [
                .init(afterSeconds: 172_800, action: "escalation"), .init(afterSeconds: 3600, action: "reminder"),
                .init(afterSeconds: 604_800, action: "expiry"),
            ], escalationPartnerId: partner.rawValue
        ).validated(id: SLAPolicyID(rawValue: "sla_x"), at: Self.now)
        #expect(policy.name == "UK members")
        #expect(policy.ladder.map(\.afterSeconds) == [3600, 172_800, 604_800])
        #expect(
            policy.escalationLadder.steps.map(\.action) == [.reminder, .escalate(to: partner), .expire])
    }

    @Test("every fault is named, by JSON path")
    func invalid() {
        let input = SLAPolicyInput(
            name: "", deadlineSeconds: 0,
            ladder: [
                .init(afterSeconds: 10, action: "expiry"), .init(afterSeconds: 20, action: "reminder"),
                .init(afterSeconds: -1, action: "shout"), .init(action: "reminder"),
            ], escalationPartnerId: "police")
        #expect(throws: ValidationError.self) { try input.validated(id: .generate(), at: Self.now) }
        do {
            _ = try input.validated(id: .generate(), at: Self.now)
        } catch {
            #expect(
                error.errors.map(\.name) == [
                    "name", "deadline_seconds", "ladder[2].after_seconds", "ladder[2].action",
                    "ladder[3].after_seconds", "ladder", "escalation_partner_id",
                ])
        }
        #expect(throws: ValidationError.self) { try SLAPolicyInput().validated(id: .generate(), at: Self.now) }
    }

    @Test("the default policy mirrors the settings' ladder")
    func standard() {
        let partner = PartnerID.generate()
        let ladder = EscalationLadder(steps: [
            .init(after: 60, action: .reminder), .init(after: 120, action: .escalate(to: partner)),
        ])
        let policy = SLAPolicy.standard(deadline: 3600, ladder: ladder, since: Self.now)
        #expect(policy.id == .standard && policy.isDefault)
        #expect(policy.deadlineSeconds == 3600)
        #expect(
            policy.ladder == [
                .init(afterSeconds: 60, action: .reminder), .init(afterSeconds: 120, action: .escalation),
            ])
        #expect(policy.escalationPartnerId == partner)
        #expect(policy.escalationLadder == ladder)
        #expect(SLAPolicyID.parsePolicy("sla_default") == .standard)
        #expect(SLAPolicyID.parsePolicy("ptn_abc") == nil)
    }

    @Test("a partner input sets, keeps or clears the policy")
    func partnerPolicy() throws {
        let partner = Partner(
            id: .generate(), name: "P", kind: .hostingProvider, contactEmail: "abuse@p.test", locale: "en",
            jurisdiction: "GB", routing: .init(), delivery: .init(), createdAt: Self.now, updatedAt: Self.now)
        #expect(partner.slaPolicyId == .standard)
        let set = try PartnerInput(slaPolicyId: "sla_0123456789abcdefghjkmnpqrs").applied(to: partner, at: Self.now)
        #expect(set.slaPolicyId.rawValue == "sla_0123456789abcdefghjkmnpqrs")
        #expect(try PartnerInput(name: "Q").applied(to: set, at: Self.now).slaPolicyId == set.slaPolicyId)
        #expect(try PartnerInput(slaPolicyId: "").applied(to: set, at: Self.now).slaPolicyId == .standard)
        #expect(try PartnerInput(slaPolicyId: "sla_default").applied(to: set, at: Self.now).slaPolicyId == .standard)
        #expect(throws: ValidationError.self) { try PartnerInput(slaPolicyId: "gold").applied(to: set, at: Self.now) }
    }
}
