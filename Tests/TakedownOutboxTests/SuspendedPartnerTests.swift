import Foundation
import TakedownModel
import TakedownOutbox
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// A suspended partner's pushes wait in the outbox and go out, signed as ever, once it is re-activated.
@Suite("Outbox worker: suspended partners")
struct SuspendedPartnerTests {
    @Test("nothing is sent while suspended, new notices included; all of it after re-activation")
    func heldAndReleased() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await OutboxWorkerTests.rig(receiver, base: base, path: "held", cap: 4)
            let first = try await rig.issue()
            _ = try await rig.test.gateway.suspendPartner(rig.partner.id, reason: "contract lapsed")
            let second = try await rig.issue()
            rig.clock.advance(by: 3600)
            #expect(try await rig.worker.tick() == 0)
            #expect(receiver.received("held").isEmpty)
            #expect(try await rig.only(first).0.state == .pending)
            #expect(try await rig.only(second).0.state == .pending)

            _ = try await rig.test.gateway.reactivatePartner(rig.partner.id)
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
}
