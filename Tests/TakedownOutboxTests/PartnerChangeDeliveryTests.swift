import Foundation
import TakedownModel
import TakedownOutbox
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// Deliveries follow the partner: a suspended partner's pushes wait and go out, signed as ever, once it is
/// re-activated; a changed webhook URL takes its waiting deliveries along.
@Suite("Outbox worker: partner changes")
struct PartnerChangeDeliveryTests {
    @Test("nothing is sent while suspended, new notices included; all of it after re-activation")
    func heldAndReleased() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await OutboxWorkerTests.rig(receiver, base: base, path: "held", cap: 4)
            let first = try await rig.issue()
            _ = try await rig.test.gateway.partnerDesk.suspendPartner(rig.partner.id, reason: "contract lapsed")
            let second = try await rig.issue()
            rig.clock.advance(by: 3600)
            #expect(try await rig.worker.tick() == 0)
            #expect(receiver.received("held").isEmpty)
            #expect(try await rig.only(first).0.state == .pending)
            #expect(try await rig.only(second).0.state == .pending)

            _ = try await rig.test.gateway.partnerDesk.reactivatePartner(rig.partner.id)
            #expect(try await rig.worker.tick() == 2)
            let received = receiver.received("held")
            #expect(received.count == 2)
            for notice in [first, second] {
                let delivery = try await rig.only(notice).0
                #expect(delivery.state == .succeeded)
                let request = try #require(received.first { $0.headers["webhook-id"] == delivery.eventId })
                let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int($0) })
                let expected = try WebhookSignature.sign(
                    id: delivery.eventId, timestamp: timestamp, body: request.body, secret: rig.secret)
                #expect(request.headers["webhook-signature"] == "v1,\(expected)")
            }
        }
    }

    @Test("a delivery failing at the old webhook URL is retried at the new one, signed with the new secret")
    func followsTheNewURL() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("old", .status(500))
        try await receiver.run { base in
            let rig = try await OutboxWorkerTests.rig(receiver, base: base, path: "old")
            let notice = try await rig.issue()
            #expect(try await rig.worker.tick() == 1)
            #expect(try await rig.only(notice).0.state == .failed)

            let (_, newSecret) = try await rig.test.gateway.partnerDesk.updatePartner(
                rig.partner.id, with: PartnerInput(delivery: .init(webhookUrl: "\(base)/hooks/new")))
            let secret = try #require(newSecret)
            rig.clock.advance(by: 3600)
            #expect(try await rig.worker.tick() == 1)
            let (delivery, attempts) = try await rig.only(notice)
            #expect(delivery.state == .succeeded && delivery.endpoint == "\(base)/hooks/new")
            #expect(attempts.count == 2)
            #expect(receiver.received("old").count == 1)
            let request = try #require(receiver.received("new").first)
            #expect(request.headers["webhook-id"] == delivery.eventId)
            let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int($0) })
            let expected = try WebhookSignature.sign(
                id: delivery.eventId, timestamp: timestamp, body: request.body, secret: secret)
            #expect(request.headers["webhook-signature"] == "v1,\(expected)")
        }
    }
}
