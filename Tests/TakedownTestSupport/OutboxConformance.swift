import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The outbox part of the storage contract: claims, leases, fencing, rescue, caps, endpoint health.
public enum OutboxConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "outbox: deliveries are written with their notice, in one transaction": enqueue,
        "outbox: claims lease due rows once, oldest first, within the endpoint cap": claims,
        "outbox: completion is fenced by the lease token": fencing,
        "outbox: live workers share the endpoints' capacity evenly; one alone takes it all": fairShare,
        "outbox: expired leases are rescued and re-claimed with a new token": rescue,
        "outbox: a dead owner's leases are returned at once": deadOwner,
        "outbox: attempts are kept and failures pause, 410 disables, resume clears": endpointHealth,
        "outbox: a round's outcomes for one endpoint apply in order, a stale lease's not at all": roundOfOutcomes,
        "outbox: staff retry and recover dead deliveries": retryAndRecover,
        "outbox: webhook secrets rotate with an overlap": secrets,
    ]

    static let t0 = Synthetic.epoch

    /// A partner, one case and `count` notices, each with one webhook delivery to `endpoint`.
    static func seed(_ store: any GatewayStore, count: Int, endpoint: String = "https://hooks.example.com/a")
        async throws -> (Partner, [Delivery])
    {
        let partner = try await StoreConformance.insertedPartner(store, domains: ["\(Synthetic.hex(8)).test"])
        var deliveries: [Delivery] = []
        for index in 0..<count {
            let record = Synthetic.caseRecord(urls: ["https://x.test/\(index)"])
            let notice = Synthetic.notice(for: record, partner: partner.id)
            let delivery = Synthetic.delivery(for: notice, endpoint: endpoint, at: t0.addingTimeInterval(Double(index)))
            _ = try await store.insertCase(record, notices: [notice], deliveries: [delivery], idempotency: nil)
            deliveries.append(delivery)
        }
        return (partner, deliveries)
    }

    static func enqueue(_ store: any GatewayStore) async throws {
        let (_, deliveries) = try await seed(store, count: 2)
        let page = try await store.deliveries(DeliveryQuery())
        #expect(page.map(\.delivery) == deliveries)
        #expect(
            try await store.deliveries(DeliveryQuery(notice: deliveries[1].noticeId)).map(\.delivery.id) == [
                deliveries[1].id
            ])
        #expect(try await store.outboxStats(now: t0.addingTimeInterval(10)) == OutboxStats(depth: 2, oldestDueAge: 10))

        // A failing transaction leaves neither the notice nor its delivery.
        let record = Synthetic.caseRecord(urls: ["https://x.test/z"])
        let notice = Synthetic.notice(for: record, partner: deliveries[0].partnerId)
        var clash = Synthetic.delivery(for: notice)
        clash.id = deliveries[0].id
        await #expect(throws: StoreError.self) {
            _ = try await store.insertCase(record, notices: [notice], deliveries: [clash], idempotency: nil)
        }
        #expect(try await store.notice(notice.id) == nil)

        // A change to a notice can enqueue in the same transaction.
        let withdrawal = Synthetic.delivery(for: try #require(try await store.notice(deliveries[0].noticeId)))
        _ = try await store.updateNotices([deliveries[0].noticeId], outbox: { _ in [withdrawal] }) { notice in
            try notice.apply(.withdraw(reason: "test"), at: t0, actor: "analyst:t")
        }
        #expect(try await store.delivery(withdrawal.id)?.0 == withdrawal)
        _ = try await store.updateNotices([deliveries[0].noticeId], outbox: { _ in [Synthetic.delivery(for: notice)] })
        { _ in false }
        #expect(try await store.deliveries(DeliveryQuery()).count == 3)
    }

    static func claims(_ store: any GatewayStore) async throws {
        let (_, a) = try await seed(store, count: 3, endpoint: "https://hooks.example.com/a")
        let (_, b) = try await seed(store, count: 2, endpoint: "https://hooks.example.com/b")
        let now = t0.addingTimeInterval(100)

        // Cap 1: one per endpoint, the oldest of each.
        let first = try await store.claimDeliveries(owner: "w1", limit: 10, now: now, lease: 60, perEndpointCap: 1)
        #expect(first.map(\.id) == [a[0].id, b[0].id])
        #expect(first.allSatisfy { $0.state == .inFlight && $0.leaseToken == 1 && $0.leaseOwner == "w1" })
        #expect(first.allSatisfy { $0.leaseExpiresAt == now.addingTimeInterval(60) })
        // Nothing more while those are in flight.
        #expect(try await store.claimDeliveries(owner: "w2", limit: 10, now: now, lease: 60, perEndpointCap: 1).isEmpty)
        // A higher cap lets the rest of endpoint a through, never one twice.
        let second = try await store.claimDeliveries(owner: "w2", limit: 10, now: now, lease: 60, perEndpointCap: 3)
        #expect(Set(second.map(\.id)) == Set([a[1].id, a[2].id, b[1].id]))
        // Rows not yet due are not claimed.
        let (_, later) = try await seed(store, count: 1, endpoint: "https://hooks.example.com/c")
        #expect(
            try await store.claimDeliveries(
                owner: "w3", limit: 10, now: t0.addingTimeInterval(-1), lease: 60, perEndpointCap: 5
            ).isEmpty)
        #expect(
            try await store.claimDeliveries(owner: "w3", limit: 10, now: now, lease: 60, perEndpointCap: 5).map(\.id)
                == [later[0].id])
    }

    static func fairShare(_ store: any GatewayStore) async throws {
        // Eight endpoints at cap 1, two rows due on each (the second a second after the first).
        for index in 0..<8 {
            _ = try await seed(store, count: 2, endpoint: "https://hooks.example.com/share-\(index)")
        }
        let now = t0.addingTimeInterval(30)
        // Worker b claims before anything is due: it takes nothing, and counts as live for a lease.
        #expect(
            try await store.claimDeliveries(
                owner: "b", limit: 64, now: t0.addingTimeInterval(-1), lease: 60, perEndpointCap: 1
            ).isEmpty)
        // a takes half of the eight endpoints' capacity, not all of it; b the other half; then a is at its share.
        let first = try await store.claimDeliveries(owner: "a", limit: 64, now: now, lease: 60, perEndpointCap: 1)
        #expect(first.count == 4)
        let second = try await store.claimDeliveries(owner: "b", limit: 64, now: now, lease: 60, perEndpointCap: 1)
        #expect(second.count == 4)
        #expect(Set(first.map(\.endpoint)).isDisjoint(with: second.map(\.endpoint)))
        #expect(Set((first + second).map(\.endpoint)).count == 8)
        #expect(try await store.claimDeliveries(owner: "a", limit: 64, now: now, lease: 60, perEndpointCap: 1).isEmpty)

        // b finishes its four and claims no more. After a lease, a alone takes what is free: b's endpoints' rows.
        let attempt = DeliveryAttempt(
            number: 1, at: now, statusCode: 200, latencyMs: 5, error: nil, responseExcerpt: nil)
        for delivery in second {
            #expect(
                try await store.completeDelivery(
                    delivery.id, token: delivery.leaseToken, outcome: .succeeded, attempt: attempt, now: now,
                    pauseAfter: 3600))
        }
        let later = now.addingTimeInterval(61)
        #expect(
            try await store.claimDeliveries(owner: "a", limit: 64, now: later, lease: 60, perEndpointCap: 1).count
                == 4)
    }

    static func fencing(_ store: any GatewayStore) async throws {
        let (_, deliveries) = try await seed(store, count: 1)
        let now = t0.addingTimeInterval(5)
        let claimed = try #require(
            try await store.claimDeliveries(owner: "w1", limit: 1, now: now, lease: 30, perEndpointCap: 1).first)
        #expect(try await store.holdsLease(claimed.id, token: claimed.leaseToken, now: now))
        #expect(try await store.holdsLease(claimed.id, token: claimed.leaseToken + 1, now: now) == false)
        #expect(
            try await store.holdsLease(claimed.id, token: claimed.leaseToken, now: now.addingTimeInterval(31)) == false)

        let attempt = DeliveryAttempt(
            number: 1, at: now, statusCode: 200, latencyMs: 12, error: nil, responseExcerpt: "ok")
        #expect(
            try await store.completeDelivery(
                claimed.id, token: claimed.leaseToken + 1, outcome: .succeeded, attempt: attempt, now: now,
                pauseAfter: 3600)
                == false)
        #expect(try await store.delivery(deliveries[0].id)?.0.state == .inFlight)
        #expect(
            try await store.completeDelivery(
                claimed.id, token: claimed.leaseToken, outcome: .succeeded, attempt: attempt, now: now, pauseAfter: 3600
            ))
        let (done, attempts) = try #require(try await store.delivery(deliveries[0].id))
        #expect(done.state == .succeeded)
        #expect(done.attempts == 1)
        #expect(done.leaseOwner == nil)
        #expect(attempts == [attempt])
        // A second completion with the same token finds no lease.
        #expect(
            try await store.completeDelivery(
                claimed.id, token: claimed.leaseToken, outcome: .succeeded, attempt: attempt, now: now, pauseAfter: 3600
            )
                == false)
        #expect(try await store.outboxStats(now: now).depth == 0)
    }

    static func rescue(_ store: any GatewayStore) async throws {
        let (_, deliveries) = try await seed(store, count: 1)
        let now = t0.addingTimeInterval(5)
        let first = try #require(
            try await store.claimDeliveries(owner: "dead", limit: 1, now: now, lease: 30, perEndpointCap: 1).first)
        #expect(try await store.rescueExpiredLeases(now: now.addingTimeInterval(29)) == 0)
        #expect(try await store.rescueExpiredLeases(now: now.addingTimeInterval(30)) == 1)
        let rescued = try #require(try await store.delivery(deliveries[0].id)?.0)
        #expect(rescued.state == .pending)
        // It keeps its place in the queue: the due time it was claimed with.
        #expect(rescued.nextAttemptAt == deliveries[0].nextAttemptAt)
        let second = try #require(
            try await store.claimDeliveries(
                owner: "alive", limit: 1, now: now.addingTimeInterval(31), lease: 30, perEndpointCap: 1
            ).first)
        #expect(second.leaseToken == first.leaseToken + 1)
        // The dead worker's late completion is fenced off.
        let attempt = DeliveryAttempt(
            number: 1, at: now, statusCode: 200, latencyMs: 1, error: nil, responseExcerpt: nil)
        #expect(
            try await store.completeDelivery(
                first.id, token: first.leaseToken, outcome: .succeeded, attempt: attempt, now: now, pauseAfter: 60)
                == false)
        #expect(try await store.delivery(first.id)?.1.isEmpty == true)
    }

    static func deadOwner(_ store: any GatewayStore) async throws {
        _ = try await seed(store, count: 2, endpoint: "https://hooks.example.com/a")
        _ = try await seed(store, count: 1, endpoint: "https://hooks.example.com/b")
        let now = t0.addingTimeInterval(5)
        _ = try await store.claimDeliveries(owner: "host/1/1", limit: 1, now: now, lease: 300, perEndpointCap: 1)
        _ = try await store.claimDeliveries(owner: "host/2/2", limit: 1, now: now, lease: 300, perEndpointCap: 1)
        #expect(Set(try await store.leaseOwners()) == ["host/1/1", "host/2/2"])
        #expect(try await store.rescueLeases(of: "host/1/1", now: now) == 1)
        #expect(try await store.leaseOwners() == ["host/2/2"])
        #expect(try await store.deliveries(DeliveryQuery(state: .inFlight)).count == 1)
        #expect(try await store.rescueLeases(of: "host/1/1", now: now) == 0)
    }

    static func endpointHealth(_ store: any GatewayStore) async throws {
        let (partner, deliveries) = try await seed(store, count: 3)
        var now = t0.addingTimeInterval(10)
        func fail(_ outcome: DeliveryOutcome) async throws {
            let claimed = try #require(
                try await store.claimDeliveries(owner: "w", limit: 1, now: now, lease: 30, perEndpointCap: 1).first)
            let attempt = DeliveryAttempt(
                number: claimed.attempts + 1, at: now, statusCode: 500, latencyMs: 3, error: "HTTP 500",
                responseExcerpt: "boom")
            #expect(
                try await store.completeDelivery(
                    claimed.id, token: claimed.leaseToken, outcome: outcome, attempt: attempt, now: now,
                    pauseAfter: 3600))
        }
        try await fail(.retry(at: now.addingTimeInterval(5), error: "HTTP 500"))
        let retried = try #require(try await store.delivery(deliveries[0].id)?.0)
        #expect(retried.state == .failed)
        #expect(retried.lastError == "HTTP 500")
        #expect(retried.lastStatus == 500)
        var endpoint = try #require(try await store.endpointStates(partner: partner.id).first)
        #expect(endpoint.failingSince == now)
        #expect(endpoint.pausedAt == nil)

        // Still failing an hour later: the endpoint is paused and nothing of it is claimed.
        now = now.addingTimeInterval(3600)
        try await fail(.retry(at: now, error: "HTTP 500"))
        endpoint = try #require(try await store.endpointStates(partner: partner.id).first)
        #expect(endpoint.pausedAt == now)
        #expect(try await store.claimDeliveries(owner: "w", limit: 10, now: now, lease: 30, perEndpointCap: 5).isEmpty)
        #expect(try await store.resumeEndpoints(partner: partner.id, now: now) == 1)
        #expect(try await store.endpointStates(partner: partner.id).first?.pausedAt == nil)

        try await fail(.endpointGone(error: "410"))
        endpoint = try #require(try await store.endpointStates(partner: partner.id).first)
        #expect(endpoint.disabledAt == now)
        #expect(try await store.claimDeliveries(owner: "w", limit: 10, now: now, lease: 30, perEndpointCap: 5).isEmpty)
        #expect(try await store.resumeEndpoints(partner: partner.id, now: now) == 1)
        #expect(
            try await store.claimDeliveries(owner: "w", limit: 10, now: now, lease: 30, perEndpointCap: 5).isEmpty
                == false)
    }

    /// One call records a whole round: several outcomes for one endpoint move its health in the order given,
    /// each delivery gets its attempt, and a completion whose lease was taken over changes nothing.
    static func roundOfOutcomes(_ store: any GatewayStore) async throws {
        let (partner, deliveries) = try await seed(store, count: 4)
        let now = t0.addingTimeInterval(10)
        let claimed = try await store.claimDeliveries(owner: "w", limit: 4, now: now, lease: 30, perEndpointCap: 4)
        #expect(claimed.map(\.id) == deliveries.map(\.id))
        func completion(_ delivery: Delivery, _ outcome: DeliveryOutcome, token: Int64? = nil) -> DeliveryCompletion {
            DeliveryCompletion(
                id: delivery.id, token: token ?? delivery.leaseToken, outcome: outcome,
                attempt: DeliveryAttempt(
                    number: 1, at: now, statusCode: outcome == .succeeded ? 200 : 503, latencyMs: 2,
                    error: outcome == .succeeded ? nil : "HTTP 503", responseExcerpt: nil))
        }
        // A success, then a failure: the endpoint is failing since now, with its last success now too.
        let recorded = try await store.completeDeliveries(
            [
                completion(claimed[0], .succeeded), completion(claimed[1], .retry(at: now + 60, error: "HTTP 503")),
                completion(claimed[2], .dead(error: "HTTP 503"), token: claimed[2].leaseToken + 1),
            ], now: now, pauseAfter: 3600)
        #expect(recorded == [claimed[0].id, claimed[1].id])
        var endpoint = try #require(try await store.endpointStates(partner: partner.id).first)
        #expect(endpoint.failingSince == now)
        #expect(endpoint.lastSuccessAt == now)
        #expect(endpoint.pausedAt == nil)
        let first = try #require(try await store.delivery(claimed[0].id))
        #expect(first.0.state == .succeeded)
        #expect(first.1.map(\.statusCode) == [200])
        let second = try #require(try await store.delivery(claimed[1].id))
        #expect(second.0.state == .failed)
        #expect(second.0.nextAttemptAt == now + 60)
        #expect(second.1.map(\.number) == [1])
        let stale = try #require(try await store.delivery(claimed[2].id))
        #expect(stale.0.state == .inFlight)
        #expect(stale.1.isEmpty)

        // A failure, then a success, a minute on: the success ends the streak.
        let later = now + 60
        #expect(
            try await store.completeDeliveries(
                [completion(claimed[3], .dead(error: "HTTP 503")), completion(claimed[2], .succeeded)], now: later,
                pauseAfter: 3600) == [claimed[3].id, claimed[2].id])
        endpoint = try #require(try await store.endpointStates(partner: partner.id).first)
        #expect(endpoint.failingSince == nil)
        #expect(endpoint.lastSuccessAt == later)
        #expect(endpoint.pausedAt == nil)
    }

    static func retryAndRecover(_ store: any GatewayStore) async throws {
        let (partner, deliveries) = try await seed(store, count: 2)
        let now = t0.addingTimeInterval(10)
        for _ in 0..<2 {
            let claimed = try #require(
                try await store.claimDeliveries(owner: "w", limit: 1, now: now, lease: 30, perEndpointCap: 1).first)
            let attempt = DeliveryAttempt(
                number: 1, at: now, statusCode: nil, latencyMs: 1, error: "refused", responseExcerpt: nil)
            _ = try await store.completeDelivery(
                claimed.id, token: claimed.leaseToken, outcome: .dead(error: "refused"), attempt: attempt, now: now,
                pauseAfter: 86_400)
        }
        #expect(try await store.deliveries(DeliveryQuery(state: .dead)).count == 2)
        let later = now.addingTimeInterval(60)
        let retried = try #require(try await store.retryDelivery(deliveries[0].id, now: later))
        #expect(retried.state == .failed)
        #expect(retried.nextAttemptAt == later)
        #expect(try await store.retryDelivery(deliveries[0].id, now: later)?.state == .failed)
        #expect(try await store.retryDelivery(DeliveryID.generate(), now: later) == nil)

        // Recovery takes the window of creation times: only the second delivery (created at t0+1).
        #expect(
            try await store.requeueDeliveries(
                partner: partner.id, since: t0.addingTimeInterval(1), until: t0.addingTimeInterval(2), now: later) == 1)
        #expect(try await store.deliveries(DeliveryQuery(state: .dead)).isEmpty)
        #expect(
            try await store.requeueDeliveries(partner: PartnerID.generate(), since: t0, until: later, now: later) == 0)
    }

    static func secrets(_ store: any GatewayStore) async throws {
        let partner = Synthetic.partner(domains: ["secrets.test"])
        try await store.insertPartner(
            partner, token: Synthetic.token(partner: partner.id), webhookSecret: "whsec_first")
        #expect(try await store.webhookSecrets(partner: partner.id, now: t0) == ["whsec_first"])
        try await store.addWebhookSecret(
            partner: partner.id, secret: "whsec_second", now: t0.addingTimeInterval(10),
            previousUntil: t0.addingTimeInterval(100))
        #expect(
            try await store.webhookSecrets(partner: partner.id, now: t0.addingTimeInterval(50)) == [
                "whsec_second", "whsec_first",
            ])
        #expect(
            try await store.webhookSecrets(partner: partner.id, now: t0.addingTimeInterval(100)) == ["whsec_second"])
        var moved = partner
        moved.updatedAt = t0.addingTimeInterval(200)
        try await store.updatePartner(moved, webhookSecret: "whsec_third")
        #expect(try await store.webhookSecrets(partner: partner.id, now: t0.addingTimeInterval(200)) == ["whsec_third"])

        // Several partners in one read: each gets its own secrets only, newest first; one with none is left out.
        let other = Synthetic.partner(domains: ["secrets-other.test"])
        try await store.insertPartner(other, token: Synthetic.token(partner: other.id), webhookSecret: "whsec_other")
        let silent = Synthetic.partner(domains: ["secrets-none.test"])
        try await store.insertPartner(silent, token: Synthetic.token(partner: silent.id), webhookSecret: nil)
        #expect(
            try await store.webhookSecrets(
                partners: [partner.id, other.id, silent.id], now: t0.addingTimeInterval(200))
                == [partner.id: ["whsec_third"], other.id: ["whsec_other"]])
        #expect(try await store.webhookSecrets(partners: [], now: t0).isEmpty)
    }
}
