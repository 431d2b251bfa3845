import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The referral part of the storage contract: receipts keyed by (sender, remote id), decisions made once,
/// and status reports moved on by one round only.
public enum ReferralConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "a referral is recorded once per sender and remote id; refusals always": receipts,
        "a referral is accepted (with its case) or declined once, and its reports move on once": decisions,
    ]

    static func peer(_ store: any GatewayStore) async throws -> Partner {
        var partner = Synthetic.partner("Peer", domains: [], kind: .hotline)
        partner.routing = RoutingRules(countries: ["DE"])
        partner.delivery.gateway = PeerGateway(
            baseUrl: "https://peer.test", keys: [PeerKey(x: String(repeating: "A", count: 43), kid: "k")],
            keysPinnedAt: Synthetic.epoch, trusted: true)
        try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        let stored = try await store.partner(partner.id)
        #expect(stored?.delivery.gateway == partner.delivery.gateway)
        #expect(stored?.routing.countries == ["DE"])
        return partner
    }

    static func receipts(_ store: any GatewayStore) async throws {
        let sender = try await peer(store)
        let now = Synthetic.epoch
        let first = Referral(
            senderId: sender.id, remoteId: "ntc_1", state: .received, receivedAt: now, jws: "a.b.c",
            document: Data("{}".utf8))
        let (stored, inserted) = try await store.insertReferral(first)
        #expect(inserted)
        #expect(stored.position > 0)
        let again = try await store.insertReferral(
            Referral(
                senderId: sender.id, remoteId: "ntc_1", state: .received, receivedAt: now, jws: "x.y.z", document: nil))
        #expect(!again.inserted)
        #expect(again.referral.id == first.id)
        #expect(again.referral.jws == "a.b.c")
        for _ in 0..<2 {
            let refused = try await store.insertReferral(
                Referral(
                    senderId: sender.id, remoteId: "ntc_1", state: .refused, receivedAt: now, jws: nil, document: nil,
                    reason: "replay"))
            #expect(refused.inserted)
        }
        _ = try await store.insertReferral(
            Referral(
                senderId: nil, remoteId: nil, state: .refused, receivedAt: now, jws: nil, document: nil,
                reason: "unknown"))
        #expect(try await store.referrals(ReferralQuery()).count == 4)
        #expect(try await store.referrals(ReferralQuery(state: .refused)).count == 3)
        #expect(try await store.referrals(ReferralQuery(state: .refused, sender: sender.id)).count == 2)
        let page = try await store.referrals(ReferralQuery(limit: 2))
        #expect(page.count == 2)
        #expect(try await store.referrals(ReferralQuery(after: page[1].position)).count == 2)
        #expect(try await store.referral(first.id) == stored)
        #expect(try await store.referral(.generate()) == nil)
    }

    static func decisions(_ store: any GatewayStore) async throws {
        let sender = try await peer(store)
        let provider = Synthetic.partner("DE host", domains: ["de-host.test"])
        try await store.insertPartner(provider, token: Synthetic.token(partner: provider.id), webhookSecret: nil)
        let now = Synthetic.epoch
        let a = try await store.insertReferral(
            Referral(senderId: sender.id, remoteId: "ntc_a", state: .received, receivedAt: now, jws: "a", document: nil)
        ).referral
        let b = try await store.insertReferral(
            Referral(senderId: sender.id, remoteId: "ntc_b", state: .received, receivedAt: now, jws: "b", document: nil)
        ).referral
        let record = Synthetic.caseRecord(urls: ["https://de-host.test/1"])
        let notice = Synthetic.notice(for: record, partner: provider.id)
        var routed = record
        routed.items[0].noticeId = notice.id
        let accepted = try await store.acceptReferral(
            a.id, case: routed, notices: [notice], deliveries: [Synthetic.delivery(for: notice)], by: "analyst:x",
            at: now)
        #expect(accepted.state == .accepted)
        #expect(accepted.caseId == record.id)
        #expect(accepted.decidedBy == "analyst:x")
        #expect(try await store.notice(notice.id) != nil)
        // A second decision is a conflict and writes nothing (its case neither).
        let other = Synthetic.caseRecord(urls: ["https://de-host.test/2"])
        await #expect(throws: StoreError.self) {
            try await store.acceptReferral(a.id, case: other, notices: [], deliveries: [], by: "analyst:y", at: now)
        }
        #expect(try await store.caseRecord(other.id) == nil)
        await #expect(throws: StoreError.self) {
            try await store.declineReferral(a.id, reason: "late", by: "analyst:y", at: now)
        }
        let declined = try await store.declineReferral(b.id, reason: "not ours", by: "analyst:y", at: now)
        #expect(declined.state == .declined)
        #expect(declined.reason == "not ours")
        await #expect(throws: StoreError.self) {
            try await store.declineReferral(.generate(), reason: "x", by: "analyst:y", at: now)
        }

        // Reports: both decided referrals are due; a round moves one on once; done ones are not due.
        #expect(Set(try await store.referralsToReport(after: 0, limit: 10).map(\.id)) == [a.id, b.id])
        #expect(try await store.referralsToReport(after: a.position, limit: 10).map(\.id) == [b.id])
        var update = Synthetic.delivery(for: notice, endpoint: "https://peer.test/v1/referral-updates")
        update.channel = .referral
        update.partnerId = sender.id
        #expect(try await store.recordReferralReport(a.id, after: 0, digest: "d1", done: false, delivery: update))
        #expect(!(try await store.recordReferralReport(a.id, after: 0, digest: "d1", done: false, delivery: update)))
        let reported = try await store.referral(a.id)
        #expect(reported?.report == Referral.Report(sequence: 1, digest: "d1", done: false))
        #expect(try await store.deliveries(DeliveryQuery(notice: notice.id)).count == 2)
        #expect(try await store.recordReferralReport(b.id, after: 0, digest: "d2", done: true, delivery: nil))
        #expect(try await store.referral(b.id)?.report == Referral.Report(sequence: 0, digest: "d2", done: true))
        #expect(try await store.referralsToReport(after: 0, limit: 10).map(\.id) == [a.id])
    }
}
