import Foundation
import TakedownModel
import Testing

/// The delivery rules every store applies: what an outcome stores, and how it moves an endpoint's health.
@Suite struct DeliveryRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func outcomesStoreTheirState() {
        #expect(DeliveryOutcome.succeeded.stored(at: now) == (.succeeded, now, nil))
        let retry = DeliveryOutcome.retry(at: now + 30, error: "HTTP 503").stored(at: now)
        #expect(retry == (.failed, now + 30, "HTTP 503"))
        #expect(DeliveryOutcome.dead(error: "refused").stored(at: now) == (.dead, now, "refused"))
        #expect(DeliveryOutcome.endpointGone(error: "410").stored(at: now) == (.dead, now, "410"))
    }

    @Test func failuresPauseOnlyAfterTheirTime() {
        var endpoint = EndpointState(partnerId: PartnerID.generate(), channel: .webhook, endpoint: "https://a.test/h")
        endpoint.record(.retry(at: now, error: "x"), at: now, pauseAfter: 600)
        #expect(endpoint.failingSince == now)
        #expect(endpoint.pausedAt == nil)
        // Still failing just short of the time: no pause; at the time: paused, and the streak keeps its start.
        endpoint.record(.dead(error: "x"), at: now + 599, pauseAfter: 600)
        #expect(endpoint.pausedAt == nil)
        endpoint.record(.dead(error: "x"), at: now + 600, pauseAfter: 600)
        #expect(endpoint.pausedAt == now + 600)
        #expect(endpoint.failingSince == now)
        // A pause stays what it was at later failures; a success clears the streak, not the pause.
        endpoint.record(.retry(at: now, error: "x"), at: now + 900, pauseAfter: 600)
        #expect(endpoint.pausedAt == now + 600)
        endpoint.record(.succeeded, at: now + 901, pauseAfter: 600)
        #expect(endpoint.failingSince == nil)
        #expect(endpoint.lastSuccessAt == now + 901)
        #expect(endpoint.pausedAt == now + 600)
    }

    @Test func goneDisablesAndStartsTheStreak() {
        var endpoint = EndpointState(partnerId: PartnerID.generate(), channel: .email, endpoint: "abuse@a.test")
        endpoint.record(.endpointGone(error: "410"), at: now, pauseAfter: 600)
        #expect(endpoint.disabledAt == now)
        #expect(endpoint.failingSince == now)
        #expect(endpoint.pausedAt == nil)
    }
}
