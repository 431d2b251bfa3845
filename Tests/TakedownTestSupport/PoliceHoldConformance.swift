import Foundation
import TakedownModel
import TakedownStore
import Testing

/// Police holds in the storage contract: a held case has its hold and no notice; release is once and
/// writes the notices; holds past their end are escalated once each, however many sweep at once.
public enum PoliceHoldConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "holds: a held case is stored with its plan and no notice; found by id, case and filters": storeAndFind,
        "holds: release writes the notices once; a delay needs a held hold": releaseOnce,
        "holds: holds past their end are escalated once each, even by concurrent sweeps": escalateOnce,
    ]

    static let t0 = Synthetic.epoch

    /// A provider, a police partner, and a case held for that police partner, planned for the provider.
    static func held(
        _ store: any GatewayStore, at: Date = t0, endsIn: TimeInterval = 3_600, police: Partner? = nil
    ) async throws -> (Case, PoliceHold, Partner, Partner) {
        let provider = Synthetic.partner("Provider \(Synthetic.hex(4))", domains: ["\(Synthetic.hex(6)).test"])
        try await store.insertPartner(provider, token: Synthetic.token(partner: provider.id), webhookSecret: nil)
        let force: Partner
        if let police {
            force = police
        } else {
            force = Synthetic.partner("Police \(Synthetic.hex(4))", domains: [], kind: .lawEnforcement)
            try await store.insertPartner(force, token: Synthetic.token(partner: force.id), webhookSecret: nil)
        }
        let record = Synthetic.caseRecord(urls: ["https://example.com/\(Synthetic.hex(6)).jpg"], at: at)
        let hold = PoliceHold(
            id: .generate(), caseId: record.id, policePartnerId: force.id, reason: "investigation", heldAt: at,
            heldBy: "analyst:test", endsAt: at.addingTimeInterval(endsIn),
            plan: [.init(partnerId: provider.id, urls: record.items.map(\.url))])
        #expect(try await store.insertHeldCase(record, hold: hold, idempotency: nil) == nil)
        return (record, hold, provider, force)
    }

    static func storeAndFind(_ store: any GatewayStore) async throws {
        let (record, hold, provider, police) = try await held(store)
        #expect(try await store.hold(hold.id) == hold)
        #expect(try await store.hold(ofCase: record.id) == hold)
        #expect(try await store.hold(HoldID.generate()) == nil)
        #expect(try await store.caseRecord(record.id)?.items.allSatisfy { $0.noticeId == nil } == true)
        #expect(try await store.notices(after: 0, limit: 100, partner: provider.id).isEmpty)

        let (_, second, _, _) = try await held(store, at: t0.addingTimeInterval(60), police: police)
        let (_, third, _, _) = try await held(store, at: t0.addingTimeInterval(120))
        #expect(try await store.holds(.init()).map(\.id) == [third.id, second.id, hold.id])
        #expect(try await store.holds(.init(policePartner: police.id)).map(\.id) == [second.id, hold.id])
        #expect(try await store.holds(.init(heldFrom: t0.addingTimeInterval(60))).map(\.id) == [third.id, second.id])
        #expect(try await store.holds(.init(heldTo: t0.addingTimeInterval(60))).map(\.id) == [hold.id])
        #expect(try await store.holds(.init(status: .released)).isEmpty)
        #expect(try await store.holds(.init(limit: 1)).map(\.id) == [third.id])

        // The same idempotency key a second time: the first record comes back and nothing is written.
        let key = IdempotencyRecord(
            scope: "cases:tok_x", key: Synthetic.hex(8), requestHash: Synthetic.hex(64), status: 201,
            body: Data("{}".utf8), createdAt: t0)
        var again = Synthetic.caseRecord(urls: ["https://example.com/again.jpg"])
        var repeatHold = hold
        repeatHold.id = .generate()
        repeatHold.caseId = again.id
        #expect(try await store.insertHeldCase(again, hold: repeatHold, idempotency: key) == nil)
        again.id = .generate()
        repeatHold.id = .generate()
        repeatHold.caseId = again.id
        #expect(try await store.insertHeldCase(again, hold: repeatHold, idempotency: key) == key)
        #expect(try await store.hold(repeatHold.id) == nil)
        #expect(try await store.caseRecord(again.id) == nil)
    }

    static func releaseOnce(_ store: any GatewayStore) async throws {
        let (record, hold, provider, _) = try await held(store)
        var delayed = hold
        delayed.endsAt = t0.addingTimeInterval(7_200)
        delayed.delayReason = "more time"
        #expect(try await store.updateHeldHold(delayed))
        #expect(try await store.hold(hold.id) == delayed)

        let notice = Synthetic.notice(for: record, partner: provider.id, at: t0.addingTimeInterval(600))
        var released = delayed
        released.status = .released
        released.releasedAt = notice.issuedAt
        released.releasedBy = "partner:police"
        released.noticeIds = [notice.id]
        try await store.releaseHold(released, notices: [notice], deliveries: [Synthetic.delivery(for: notice)])
        #expect(try await store.hold(hold.id) == released)
        #expect(try await store.notice(notice.id)?.partnerId == provider.id)
        #expect(try await store.caseRecord(record.id)?.items.map(\.noticeId) == [notice.id])
        #expect(try await store.deliveries(DeliveryQuery(notice: notice.id)).count == 1)

        // A second release conflicts and writes nothing; a released hold takes no delay.
        let other = Synthetic.notice(for: record, partner: provider.id)
        await #expect(throws: StoreError.self) {
            try await store.releaseHold(released, notices: [other], deliveries: [])
        }
        #expect(try await store.notice(other.id) == nil)
        #expect(try await store.updateHeldHold(delayed) == false)
        #expect(try await store.hold(hold.id)?.status == .released)
    }

    static func escalateOnce(_ store: any GatewayStore) async throws {
        var holds: [PoliceHold] = []
        for index in 0..<6 {
            holds.append(try await held(store, endsIn: TimeInterval(index < 4 ? 60 : 86_400)).1)
        }
        let now = t0.addingTimeInterval(3_600)
        async let first = store.escalateOverdueHolds(at: now, limit: 100)
        async let second = store.escalateOverdueHolds(at: now, limit: 100)
        let (a, b) = try await (first, second)
        let escalated = (a + b).map(\.id)
        #expect(Set(escalated) == Set(holds.prefix(4).map(\.id)) && escalated.count == 4)
        #expect((a + b).allSatisfy { $0.escalatedAt == now })
        #expect(try await store.hold(holds[0].id)?.escalatedAt == now)
        #expect(try await store.escalateOverdueHolds(at: now.addingTimeInterval(60), limit: 100).isEmpty)
        #expect(try await store.hold(holds[5].id)?.escalatedAt == nil)
    }
}
