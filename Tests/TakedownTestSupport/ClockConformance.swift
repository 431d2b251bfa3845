import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The removal-clock part of the storage contract: SLA policies, ladder steps per policy, verification
/// claims with fencing, and the recorded checks.
public enum ClockConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "clocks: SLA policies round-trip, names are unique, partners keep theirs": policies,
        "clocks: due ladder steps are found per policy": ladderPerPolicy,
        "clocks: verification claims are taken once and push the due time by the lease": claims,
        "clocks: completing a verification is fenced by the claim and records every check": completion,
        "clocks: a claim is extended only while it holds and was not rescheduled": claimExtension,
    ]

    static let t0 = Synthetic.epoch

    static func policy(_ name: String, partner: PartnerID? = nil) -> SLAPolicy {
        SLAPolicy(
            id: .generate(), name: name, deadlineSeconds: 7200,
            ladder: [.init(afterSeconds: 3600, action: .reminder), .init(afterSeconds: 86_400, action: .escalation)],
            escalationPartnerId: partner, createdAt: t0)
    }

    /// A partner and one stored notice for it, with its case.
    static func seeded(_ store: any GatewayStore, change: (inout Notice) -> Void = { _ in }) async throws -> Notice {
        let partner = try await StoreConformance.insertedPartner(store, domains: ["\(Synthetic.hex(8)).test"])
        var record = Synthetic.caseRecord(urls: ["https://x.test/1", "https://x.test/2"])
        var notice = Synthetic.notice(for: record, partner: partner.id)
        change(&notice)
        for index in record.items.indices { record.items[index].noticeId = notice.id }
        _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
        return try #require(try await store.notice(notice.id))
    }

    static func policies(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store)
        let gold = policy("gold", partner: partner.id)
        let silver = policy("silver")
        try await store.insertSLAPolicy(gold)
        try await store.insertSLAPolicy(silver)
        #expect(try await store.slaPolicy(gold.id) == gold)
        #expect(try await store.slaPolicies() == [gold, silver])
        #expect(try await store.slaPolicy(.generate()) == nil)
        await #expect(throws: StoreError.self) { try await store.insertSLAPolicy(policy("gold")) }
        #expect(try await store.slaPolicies().count == 2)

        var changed = partner
        changed.slaPolicyId = gold.id
        try await store.updatePartner(changed, webhookSecret: nil)
        #expect(try await store.partner(partner.id)?.slaPolicyId == gold.id)
    }

    static func ladderPerPolicy(_ store: any GatewayStore) async throws {
        let gold = policy("gold")
        try await store.insertSLAPolicy(gold)
        let standard = try await seeded(store)
        let golden = try await seeded(store) { $0.slaPolicyId = gold.id }
        #expect(try await store.notice(golden.id)?.slaPolicyId == gold.id)
        let now = t0.addingTimeInterval(3600)
        #expect(try await store.dueLadderSteps(policy: gold.id, offsets: [3600], now: now, limit: 10) == [golden.id])
        #expect(
            try await store.dueLadderSteps(policy: .standard, offsets: [3600], now: now, limit: 10) == [standard.id])
        #expect(try await store.dueLadderSteps(policy: gold.id, offsets: [7200], now: now, limit: 10) == [])
    }

    static func claims(_ store: any GatewayStore) async throws {
        let due = try await seeded(store) { $0.verifyDueAt = t0 }
        let later = try await seeded(store) { $0.verifyDueAt = t0.addingTimeInterval(600) }
        _ = try await seeded(store) { $0.verifyDueAt = nil }
        _ = try await seeded(store) {
            $0.verifyDueAt = t0
            $0.status = .withdrawn
        }
        let first = try await store.claimVerifications(now: t0, lease: 300, limit: 10)
        #expect(first.map(\.noticeId) == [due.id])
        #expect(try await store.notice(due.id)?.verifyDueAt == t0.addingTimeInterval(300))
        #expect(try await store.claimVerifications(now: t0, lease: 300, limit: 10) == [])
        // After the lease (a crashed checker), the notice is claimed again with a new token.
        let second = try await store.claimVerifications(now: t0.addingTimeInterval(600), lease: 300, limit: 10)
        #expect(Set(second.map(\.noticeId)) == [due.id, later.id])
        let again = try #require(second.first { $0.noticeId == due.id })
        #expect(again.token != first[0].token)
    }

    static func completion(_ store: any GatewayStore) async throws {
        let notice = try await seeded(store) { $0.verifyDueAt = t0 }
        let stale = try #require(try await store.claimVerifications(now: t0, lease: 60, limit: 1).first)
        let fresh = try #require(
            try await store.claimVerifications(now: t0.addingTimeInterval(60), lease: 60, limit: 1).first)
        let checks = notice.items.map {
            VerificationCheck(
                noticeId: notice.id, url: $0.url, checkedAt: t0, httpStatus: 404, outcome: .gone, error: nil)
        }
        // The stale claim (lease ended, claimed again) writes nothing.
        #expect(try await store.completeVerification(stale, checks: checks) { $0.verifyDueAt = nil } == nil)
        #expect(try await store.verificationChecks(notice: notice.id) == [])

        let updated = try await store.completeVerification(fresh, checks: checks) { notice in
            notice.applyVerification(checks, at: t0, next: t0.addingTimeInterval(3600))
        }
        #expect(updated?.items.allSatisfy { $0.verifiedAt == t0 } == true)
        let stored = try #require(try await store.notice(notice.id))
        #expect(stored.items.allSatisfy { $0.verifiedAt == t0 })
        #expect(stored.verifyDueAt == t0.addingTimeInterval(3600))
        #expect(stored.timeline.last?.event == "removal_observed")
        let recorded = try await store.verificationChecks(notice: notice.id)
        #expect(recorded == checks)
        #expect(recorded.first?.finalUrl == "https://x.test/1")
    }

    static func claimExtension(_ store: any GatewayStore) async throws {
        let notice = try await seeded(store) { $0.verifyDueAt = t0 }
        let claim = try #require(try await store.claimVerifications(now: t0, lease: 60, limit: 1).first)
        let leaseEnd = t0.addingTimeInterval(60)
        let later = t0.addingTimeInterval(120)
        #expect(try await store.extendVerificationClaim(claim, from: leaseEnd, until: later))
        #expect(try await store.notice(notice.id)?.verifyDueAt == later)
        let stale = VerificationClaim(noticeId: claim.noticeId, token: claim.token - 1)
        #expect(try await store.extendVerificationClaim(stale, from: later, until: later + 60) == false)
        // A removal report moved the due time to "now": the claim is not stretched over it.
        _ = try await store.updateNotices([notice.id]) { notice in
            notice.verifyDueAt = t0.addingTimeInterval(30)
            return true
        }
        #expect(try await store.extendVerificationClaim(claim, from: later, until: later + 60) == false)
        #expect(try await store.notice(notice.id)?.verifyDueAt == t0.addingTimeInterval(30))
    }
}
