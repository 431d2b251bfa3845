import Foundation
import TakedownModel
import TakedownOutbox
import TakedownService
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// The outbox against a real local receiver, with the gateway's clock in the test's hands.
@Suite("Outbox worker")
struct OutboxWorkerTests {
    struct Rig: Sendable {
        let test: TestGateway
        let worker: OutboxWorker
        let partner: Partner
        let secret: String
        let base: String

        var store: any GatewayStore { test.store }
        var clock: TestClock { test.clock }

        /// Issues a notice to the partner and returns its id.
        func issue(_ path: String = "https://hooks.example.com/x") async throws -> NoticeID {
            let submission = CaseSubmission(
                reference: "HL-\(Synthetic.hex(6))", category: .init(ukGrade: "A"), mediaType: "image",
                items: [
                    .init(
                        url: "https://\(domain)/\(Synthetic.hex(8)).jpg", observedAt: Synthetic.epoch,
                        hashes: .init(md5: Synthetic.hex(32)))
                ])
            let receipt = try await test.gateway.caseDesk.submitCase(submission, by: .analyst(.generate(), name: "t"))
            return try #require(receipt.notices.first?.id)
        }

        var domain: String { partner.routing.domains[0] }

        func deliveries(_ notice: NoticeID) async throws -> [Delivery] {
            try await store.deliveries(DeliveryQuery(notice: notice)).map(\.delivery)
        }

        func only(_ notice: NoticeID) async throws -> (Delivery, [DeliveryAttempt]) {
            let id = try #require(try await deliveries(notice).first?.id)
            return try #require(try await store.delivery(id))
        }
    }

    /// A gateway whose partner's webhook points at `path` on the receiver, and a worker over it.
    static func rig(
        _ receiver: ScriptedReceiver, base: String, path: String,
        schedule: [TimeInterval] = RetryPolicy.standard.schedule, timeout: TimeInterval = 2,
        allowPrivate: Bool = true, cap: Int = 1, pauseAfter: TimeInterval = 86_400
    ) async throws -> Rig {
        let test = try await TestGateway()
        let domain = "\(Synthetic.hex(8)).example.com"
        let (partner, _, secret) = try await test.gateway.partnerDesk.createPartner(
            PartnerInput(
                name: "Hooked", kind: "hosting_provider", contactEmail: "abuse@\(domain)", jurisdiction: "GB",
                routing: .init(domains: [domain]), delivery: .init(webhookUrl: "\(base)/hooks/\(path)")))
        var configuration = OutboxConfiguration()
        configuration.requestTimeout = timeout
        configuration.perEndpointCap = cap
        configuration.pauseAfter = pauseAfter
        configuration.retryPolicy.schedule = schedule
        configuration.allowPrivateTargets = allowPrivate
        let transport = WebhookTransport(timeout: timeout, allowPrivateTargets: allowPrivate)
        receiver.atEnd {
            try? await transport.shutdown()
            test.remove()
        }
        let worker = OutboxWorker(
            store: test.store, transports: [.webhook: transport],
            configuration: configuration, clock: test.clock.function, random: { 0.5 })
        return Rig(test: test, worker: worker, partner: partner, secret: try #require(secret), base: base)
    }

    @Test("200: delivered once with Standard Webhooks headers and the signed notice")
    func success() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "ok")
            let notice = try await rig.issue()
            #expect(try await rig.worker.tick() == 1)
            let (delivery, attempts) = try await rig.only(notice)
            #expect(delivery.state == .succeeded)
            #expect(attempts.count == 1)
            #expect(attempts[0].statusCode == 200)
            #expect(attempts[0].responseExcerpt == "answer 200")

            let received = try #require(receiver.received("ok").first)
            #expect(received.headers["webhook-id"] == delivery.eventId)
            let timestamp = Int(rig.clock.now.timeIntervalSince1970)
            #expect(received.headers["webhook-timestamp"] == "\(timestamp)")
            let expected = try WebhookSignature.sign(
                id: delivery.eventId, timestamp: timestamp, body: received.body, secret: rig.secret)
            #expect(received.headers["webhook-signature"] == "v1,\(expected)")
            let event = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
            #expect(event["type"] as? String == "notice.issued")
            #expect(event["id"] as? String == delivery.eventId)
            let data = try #require(event["data"] as? [String: Any])
            #expect(data["id"] as? String == notice.rawValue)
            let jws = try #require(data["jws"] as? String)
            _ = try JWS.verify(jws, keys: rig.test.gateway.jwks)
            #expect((data["document"] as? [String: Any])?["jti"] as? String == notice.rawValue)
            #expect(try await rig.worker.tick() == 0)
            #expect(receiver.received("ok").count == 1)
        }
    }

    @Test("500: retried after at least a minute, with the same webhook-id")
    func serverError() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("flaky", .status(500))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "flaky")
            let notice = try await rig.issue()
            try await rig.worker.tick()
            var (delivery, _) = try await rig.only(notice)
            #expect(delivery.state == .failed)
            #expect(delivery.lastStatus == 500)
            // The schedule says 5 s; a 5xx waits at least 60 s.
            #expect(delivery.nextAttemptAt == rig.clock.now.addingTimeInterval(60))
            rig.clock.advance(by: 59)
            #expect(try await rig.worker.tick() == 0)
            rig.clock.advance(by: 1)
            #expect(try await rig.worker.tick() == 1)
            (delivery, _) = try await rig.only(notice)
            #expect(delivery.state == .succeeded)
            #expect(delivery.attempts == 2)
            let ids = receiver.received("flaky").map { $0.headers["webhook-id"] }
            #expect(ids.count == 2)
            #expect(ids[0] == ids[1])
            #expect(ids[0] == delivery.eventId)
        }
    }

    @Test("429 with Retry-After is honoured within one to two times the scheduled delay")
    func retryAfter() async throws {
        let receiver = ScriptedReceiver()
        receiver.script(
            "throttled", .status(429, headers: ["Retry-After": "150"]), .status(429, headers: ["Retry-After": "5000"]))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "throttled", schedule: [0, 100, 100, 100])
            let notice = try await rig.issue()
            try await rig.worker.tick()
            var (delivery, _) = try await rig.only(notice)
            #expect(delivery.nextAttemptAt == rig.clock.now.addingTimeInterval(150))
            rig.clock.advance(by: 150)
            try await rig.worker.tick()
            (delivery, _) = try await rig.only(notice)
            // 5000 s asked, 2 × 100 s allowed.
            #expect(delivery.nextAttemptAt == rig.clock.now.addingTimeInterval(200))
        }
    }

    @Test("410 disables the endpoint: the delivery is dead and later ones wait")
    func gone() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("gone", .status(410))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "gone")
            let first = try await rig.issue()
            try await rig.worker.tick()
            #expect(try await rig.only(first).0.state == .dead)
            let endpoint = try #require(try await rig.store.endpointStates(partner: rig.partner.id).first)
            #expect(endpoint.disabledAt != nil)
            let second = try await rig.issue()
            #expect(try await rig.worker.tick() == 0)
            #expect(try await rig.only(second).0.state == .pending)
            _ = try await rig.test.gateway.deliveryDesk.resumeEndpoints(partner: rig.partner.id)
            #expect(try await rig.worker.tick() == 1)
            #expect(try await rig.only(second).0.state == .succeeded)
        }
    }

    @Test("a receiver slower than the timeout is a failure, retried later")
    func slow() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("slow", .slow(seconds: 1.6))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "slow", timeout: 1)
            let notice = try await rig.issue()
            try await rig.worker.tick()
            let (delivery, attempts) = try await rig.only(notice)
            #expect(delivery.state == .failed)
            #expect(delivery.lastError == "timed out")
            #expect(attempts.first?.statusCode == nil)
            #expect((attempts.first?.latencyMs ?? 0) >= 900)
        }
    }

    @Test("redirects are not followed")
    func redirect() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            receiver.script("moved", .redirect(to: "\(base)/hooks/elsewhere"))
            let rig = try await Self.rig(receiver, base: base, path: "moved")
            let notice = try await rig.issue()
            try await rig.worker.tick()
            let (delivery, _) = try await rig.only(notice)
            #expect(delivery.state == .failed)
            #expect(delivery.lastStatus == 302)
            #expect(receiver.received("elsewhere").isEmpty)
        }
    }

    @Test("after the last attempt the delivery is dead")
    func lastAttempt() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("down", .status(503), .status(503))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "down", schedule: [0, 1])
            let notice = try await rig.issue()
            try await rig.worker.tick()
            rig.clock.advance(by: 60)
            try await rig.worker.tick()
            let (delivery, attempts) = try await rig.only(notice)
            #expect(delivery.state == .dead)
            #expect(attempts.map(\.statusCode) == [503, 503])
            // Staff send it again.
            _ = try await rig.test.gateway.deliveryDesk.retryDelivery(delivery.id)
            #expect(try await rig.worker.tick() == 1)
            #expect(try await rig.only(notice).0.state == .succeeded)
        }
    }

    @Test("one endpoint never has more in flight than its cap, and gets its notices in order")
    func cap() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("capped", .slow(seconds: 0.2), .slow(seconds: 0.2), .slow(seconds: 0.2))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "capped")
            var notices: [NoticeID] = []
            for _ in 0..<3 { notices.append(try await rig.issue()) }
            for _ in 0..<3 { #expect(try await rig.worker.tick() == 1) }
            #expect(receiver.maxConcurrent == 1)
            let order = receiver.received("capped").compactMap { received -> String? in
                let event = try? JSONSerialization.jsonObject(with: received.body) as? [String: Any]
                return (event?["data"] as? [String: Any])?["id"] as? String
            }
            #expect(order == notices.map(\.rawValue))
        }
    }

    @Test("private targets are refused unless the operator allows them")
    func privateTargets() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "private", allowPrivate: false)
            let notice = try await rig.issue()
            try await rig.worker.tick()
            let (delivery, _) = try await rig.only(notice)
            #expect(delivery.state == .dead)
            #expect(delivery.lastError?.contains("target refused") == true)
            #expect(receiver.received("private").isEmpty)
        }
        #expect(TargetGuard.isBlocked(IPAddress("169.254.169.254")!))
        #expect(TargetGuard.isBlocked(IPAddress("::ffff:10.0.0.1")!))
        #expect(TargetGuard.isBlocked(IPAddress("fd00::1")!))
        #expect(!TargetGuard.isBlocked(IPAddress("93.184.216.34")!))
    }

    @Test("an endpoint failing for longer than the pause time is paused")
    func pause() async throws {
        let receiver = ScriptedReceiver()
        receiver.script("sick", .status(500), .status(500), .status(500))
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "sick", pauseAfter: 100)
            let notice = try await rig.issue()
            try await rig.worker.tick()
            rig.clock.advance(by: 120)
            try await rig.worker.tick()
            let endpoint = try #require(try await rig.store.endpointStates(partner: rig.partner.id).first)
            #expect(endpoint.pausedAt == rig.clock.now)
            rig.clock.advance(by: 3600)
            #expect(try await rig.worker.tick() == 0)
            #expect(try await rig.only(notice).0.attempts == 2)
        }
    }

    @Test("a worker that lost its lease sends nothing")
    func lostLease() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "lease")
            _ = try await rig.issue()
            let stale = try await rig.store.claimDeliveries(
                owner: "other", limit: 1, now: rig.clock.now, lease: 10, perEndpointCap: 1)
            rig.clock.advance(by: 11)
            #expect(try await rig.store.rescueExpiredLeases(now: rig.clock.now) == 1)
            #expect(try await rig.worker.tick() == 1)
            #expect(receiver.received("lease").count == 1)
            // The stale claim's token no longer holds.
            #expect(
                try await rig.store.holdsLease(stale[0].id, token: stale[0].leaseToken, now: rig.clock.now) == false)
        }
    }

    @Test("a withdrawal is pushed as notice.withdrawn")
    func withdrawal() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let rig = try await Self.rig(receiver, base: base, path: "withdrawn")
            let notice = try await rig.issue()
            try await rig.worker.tick()
            _ = try await rig.test.gateway.noticeDesk.answer(
                notice, .withdraw(reason: "issued in error"), by: .analyst(.generate(), name: "t"))
            try await rig.worker.tick()
            let types = receiver.received("withdrawn").compactMap {
                (try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["type"] as? String
            }
            #expect(types == ["notice.issued", "notice.withdrawn"])
        }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("about three days in all, with ±20 % jitter")
    func schedule() {
        let policy = RetryPolicy.standard
        let total = policy.schedule.reduce(0, +)
        #expect(total > 2.5 * 86_400 && total < 3.5 * 86_400)
        #expect(policy.delay(afterAttempt: 1, status: nil, retryAfter: nil, unit: 0) == 4)
        #expect(abs((policy.delay(afterAttempt: 1, status: nil, retryAfter: nil, unit: 1) ?? 0) - 6) < 1e-9)
        #expect(policy.delay(afterAttempt: 2, status: nil, retryAfter: nil, unit: 0.5) == 300)
        #expect(policy.delay(afterAttempt: policy.maxAttempts, status: nil, retryAfter: nil, unit: 0.5) == nil)
        #expect(policy.delay(afterAttempt: 2, status: 503, retryAfter: 10, unit: 0.5) == 300)
        #expect(policy.delay(afterAttempt: 1, status: 429, retryAfter: nil, unit: 0.5) == 60)
    }

    @Test("Retry-After as seconds or an HTTP date")
    func retryAfterHeader() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(RetryPolicy.retryAfter("120", now: now) == 120)
        #expect(RetryPolicy.retryAfter("-1", now: now) == nil)
        #expect(RetryPolicy.retryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.retryAfter("Fri, 15 Jan 2027 08:02:00 GMT", now: now) == 120)
    }
}
