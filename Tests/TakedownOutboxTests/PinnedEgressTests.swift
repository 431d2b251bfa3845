import Foundation
import Synchronization
import TakedownModel
import TakedownSigning
import Testing

@testable import TakedownOutbox

/// DNS rebinding: a name answers an allowed address when the guard checks it and another one after.
/// Two local servers listen on one port, on 127.0.0.1 (the allow-list's stand-in for a public
/// address) and on 127.0.0.2 (standing in for an inside address). The names are `.test` names the
/// system cannot resolve, so a request only arrives if the transport connected to the approved address.
///
/// Serialized: the stalling-lookup tests hold a Dispatch worker in `sleep` for 10 s each, and beside them
/// on two cores the other tests' lookups waited past their time limits.
@Suite("Egress goes only where it was checked", .serialized)
struct PinnedEgressTests {
    static let approved = [IPRange("127.0.0.1/32")!]

    static func delivery(to endpoint: String) -> Delivery {
        Delivery(
            noticeId: .generate(), partnerId: .generate(), channel: .webhook, endpoint: endpoint,
            eventType: "notice.issued", eventId: "evt_\(UUID().uuidString)", payload: Data(#"{"ok":true}"#.utf8),
            nextAttemptAt: Date(), createdAt: Date(), updatedAt: Date())
    }

    /// Runs `body` with receivers on 127.0.0.1 and 127.0.0.2, on the same port.
    static func twoReceivers(
        _ body:
            @escaping @Sendable (_ approved: ScriptedReceiver, _ inside: ScriptedReceiver, _ port: Int) async throws
            -> Void
    ) async throws {
        let approved = ScriptedReceiver()
        let inside = ScriptedReceiver()
        try await approved.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            try await inside.run(host: "127.0.0.2", port: port) { _ in
                try await body(approved, inside, port)
            }
        }
    }

    @Test("a webhook goes to the address approved at the check; a later answer is checked again, not followed")
    func webhookRebinding() async throws {
        try await Self.twoReceivers { approved, inside, port in
            let resolver = ScriptedResolver()
            resolver.answer("hooks.test", "127.0.0.1")
            resolver.answer("hooks.test", "127.0.0.2")
            let transport = WebhookTransport(
                timeout: 2, guard: TargetGuard(allowPrivate: false, allowed: Self.approved, resolver: resolver))
            let secret = WebhookSignature.newSecret()

            let first = await transport.send(
                Self.delivery(to: "http://hooks.test:\(port)/hooks/a"), secrets: [secret], now: Date())
            #expect(first.statusCode == 200)
            #expect(resolver.lookups(of: "hooks.test") == 1)
            #expect(approved.received("a").map(\.authority) == ["hooks.test:\(port)"])

            // The name now answers an inside address: refused, though a connection to 127.0.0.1 is pooled.
            let second = await transport.send(
                Self.delivery(to: "http://hooks.test:\(port)/hooks/b"), secrets: [secret], now: Date())
            #expect(second.refused)
            #expect(second.error?.hasPrefix("target refused: hooks.test resolves to 127.0.0.2") == true)
            #expect(resolver.lookups(of: "hooks.test") == 2)
            #expect(inside.received.isEmpty)
            #expect(approved.received("b").isEmpty)
            try await transport.shutdown()
        }
    }

    @Test("when a name moves to another allowed address, requests follow the new answer, not the pooled connection")
    func webhookMoves() async throws {
        try await Self.twoReceivers { first, second, port in
            let resolver = ScriptedResolver()
            resolver.answer("moving.test", "127.0.0.1")
            resolver.answer("moving.test", "127.0.0.2")
            let both = Self.approved + [IPRange("127.0.0.2/32")!]
            let transport = WebhookTransport(
                timeout: 2, guard: TargetGuard(allowPrivate: false, allowed: both, resolver: resolver))
            let secret = WebhookSignature.newSecret()
            for path in ["one", "two", "three"] {
                let result = await transport.send(
                    Self.delivery(to: "http://moving.test:\(port)/hooks/\(path)"), secrets: [secret], now: Date())
                #expect(result.statusCode == 200, "\(result)")
            }
            #expect(first.received.map(\.path) == ["one"])
            #expect(second.received.map(\.path) == ["two", "three"])
            #expect(resolver.lookups(of: "moving.test") == 3)
            try await transport.shutdown()
        }
    }

    @Test("after an attempt through a dead approved address fails, the next attempt takes another approved one")
    func rotation() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            let resolver = ScriptedResolver()
            resolver.answer("dual.test", "127.0.0.3", "127.0.0.1")  // nothing listens on 127.0.0.3
            let allowed = Self.approved + [IPRange("127.0.0.3/32")!]
            // 3 s: a refused address fails at once on loopback, and a loaded machine still answers in time.
            let transport = WebhookTransport(
                timeout: 3, guard: TargetGuard(allowPrivate: false, allowed: allowed, resolver: resolver))
            var results: [TransportResult] = []
            for _ in 0..<3 {
                results.append(
                    await transport.send(
                        Self.delivery(to: "http://dual.test:\(port)/hooks/dual"),
                        secrets: [WebhookSignature.newSecret()], now: Date()))
            }
            #expect(results.map(\.statusCode) == [nil, 200, 200])
            #expect(receiver.received("dual").map(\.authority) == Array(repeating: "dual.test:\(port)", count: 2))
            #expect(resolver.lookups(of: "dual.test") == 3)
            try await transport.shutdown()
        }
    }

    @Test("deliveries to one target reuse one pinned client and one connection")
    func reuse() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            let resolver = ScriptedResolver()
            resolver.answer("busy.test", "127.0.0.1")
            let transport = WebhookTransport(
                timeout: 2, guard: TargetGuard(allowPrivate: false, allowed: Self.approved, resolver: resolver))
            let secret = WebhookSignature.newSecret()
            for index in 0..<20 {
                let endpoint = index.isMultiple(of: 2) ? "http://busy.test:\(port)/hooks/n" : "\(base)/hooks/l"
                #expect(
                    await transport.send(Self.delivery(to: endpoint), secrets: [secret], now: Date()).statusCode == 200)
            }
            #expect(resolver.lookups(of: "busy.test") == 10)
            // One client for the name, one for the literal; each kept its connection open.
            #expect(transport.cachedClients == 2)
            #expect(Set(receiver.received("n").compactMap(\.peerPort)).count == 1)
            #expect(Set(receiver.received("l").compactMap(\.peerPort)).count == 1)
            try await transport.shutdown()
        }
    }

    @Test("past its capacity the cache shuts the least recently used client down and keeps working")
    func eviction() async throws {
        let receiver = ScriptedReceiver()
        try await receiver.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            let resolver = ScriptedResolver(fallback: .addresses([IPAddress("127.0.0.1")!]))
            let transport = WebhookTransport(
                timeout: 2, guard: TargetGuard(allowPrivate: false, allowed: Self.approved, resolver: resolver),
                cachedTargets: 2)
            let secret = WebhookSignature.newSecret()
            for name in ["a", "b", "c", "a", "d"] {
                let result = await transport.send(
                    Self.delivery(to: "http://\(name).test:\(port)/hooks/\(name)"), secrets: [secret], now: Date())
                #expect(result.statusCode == 200)
            }
            #expect(transport.cachedClients == 2)
            #expect(receiver.received.count == 5)
            try await transport.shutdown()
        }
    }

    @Test("a name with no address is not contacted and is retried later; a private one is refused for good")
    func webhookFailClosed() async throws {
        let resolver = ScriptedResolver()
        resolver.script("flaky.test", .failed)
        resolver.answer("inside.test", "10.1.2.3")
        let transport = WebhookTransport(timeout: 1, guard: TargetGuard(allowPrivate: false, resolver: resolver))
        let secret = WebhookSignature.newSecret()
        let missing = await transport.send(Self.delivery(to: "https://missing.test/h"), secrets: [secret], now: Date())
        #expect(missing.error == "missing.test does not exist (DNS)")
        #expect(!missing.refused && !missing.succeeded)
        let flaky = await transport.send(Self.delivery(to: "https://flaky.test/h"), secrets: [secret], now: Date())
        #expect(flaky.error == "DNS lookup of flaky.test failed for now")
        let inside = await transport.send(Self.delivery(to: "https://inside.test/h"), secrets: [secret], now: Date())
        #expect(inside.refused)
        #expect(transport.cachedClients == 0)
        try await transport.shutdown()
    }

    @Test("the operator's allowed ranges (TAKEDOWN_ALLOWED_TARGETS) open those addresses and no other")
    func operatorAllowedRanges() async throws {
        try await Self.twoReceivers { approved, inside, port in
            // The initialiser the composition calls with `settings.outbox.allowedTargets`.
            let transport = WebhookTransport(timeout: 2, allowPrivateTargets: false, allowedTargets: Self.approved)
            let secret = WebhookSignature.newSecret()
            let allowed = await transport.send(
                Self.delivery(to: "http://127.0.0.1:\(port)/hooks/a"), secrets: [secret], now: Date())
            #expect(allowed.statusCode == 200)
            #expect(approved.received("a").count == 1)
            let other = await transport.send(
                Self.delivery(to: "http://127.0.0.2:\(port)/hooks/b"), secrets: [secret], now: Date())
            #expect(other.refused)
            #expect(inside.received.isEmpty)
            let closed = WebhookTransport(timeout: 2, allowPrivateTargets: false)
            let refused = await closed.send(
                Self.delivery(to: "http://127.0.0.1:\(port)/hooks/c"), secrets: [secret], now: Date())
            #expect(refused.refused)
            #expect(approved.received("c").isEmpty)
            try await transport.shutdown()
            try await closed.shutdown()
        }
    }

    /// A resolver blocked in a system call for `seconds`, as `getaddrinfo` is when a DNS server stalls.
    struct StallingResolver: HostResolver {
        let seconds: UInt32
        func lookup(_ host: String) async -> HostLookup {
            await BlockingCall.run(cancelled: .failed) {
                sleep(seconds)
                return .addresses([IPAddress("127.0.0.1")!])
            }
        }
    }

    @Test("a DNS lookup that stalls is cut at the attempt's time limit, and nothing is contacted")
    func stallingLookup() async throws {
        let transport = WebhookTransport(
            timeout: 0.5,
            guard: TargetGuard(allowPrivate: false, allowed: Self.approved, resolver: StallingResolver(seconds: 10)))
        let started = ContinuousClock.now
        let result = await transport.send(
            Self.delivery(to: "http://stalling.test:9/hooks/x"), secrets: [WebhookSignature.newSecret()], now: Date())
        // Cut before the 10 s stall ended: the stalled lookup would have answered 127.0.0.1, which the guard
        // refuses with another error. How long the cut takes is not measured here (parallel suites on two
        // cores delay it by seconds); only that it did not wait for the stall.
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(result.error == "DNS lookup of stalling.test failed for now")
        #expect(transport.cachedClients == 0)
        try await transport.shutdown()
    }

    @Test("a verification whose DNS lookup stalls ends at the check's time limit")
    func stallingVerification() async throws {
        let verifier = URLVerifier(
            configuration: URLVerifierTests.configuration(timeout: 0.5), resolver: StallingResolver(seconds: 10))
        let started = ContinuousClock.now
        let fetched = await verifier.fetch("http://stalling.test:9/same")
        // Cut before the stall ended (a completed lookup of 127.0.0.1 is refused otherwise, not timed out).
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(fetched.failure == .timedOut)
        try await verifier.shutdown()
    }

    @Test("verification connects every hop to its approved address; a hop that rebinds inside is refused")
    func verificationRebinding() async throws {
        let outside = ContentServer()
        let inside = ContentServer()
        try await outside.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            try await inside.run(host: "127.0.0.2", port: port) { _ in
                let resolver = ScriptedResolver()
                resolver.answer("content.test", "127.0.0.1")
                resolver.answer("content.test", "127.0.0.2")
                resolver.answer("hop.test", "127.0.0.1")
                resolver.answer("rebound.test", "127.0.0.2")
                var configuration = URLVerifierTests.configuration()
                configuration.allowedTargets = Self.approved
                let verifier = URLVerifier(configuration: configuration, resolver: resolver)

                let fetched = await verifier.fetch("http://content.test:\(port)/same")
                #expect(fetched.digests == URLVerifierTests.caseHashes)
                #expect(resolver.lookups(of: "content.test") == 1)
                let again = await verifier.fetch("http://content.test:\(port)/same")
                if case .refused = again.failure {} else { Issue.record("the rebound name was not refused: \(again)") }

                let hopped = await verifier.fetch("\(base)/redirect/host/hop.test")
                #expect(hopped.redirects == 1)
                #expect(hopped.digests == URLVerifierTests.caseHashes)
                let rebound = await verifier.fetch("\(base)/redirect/host/rebound.test")
                if case .refused = rebound.failure {} else { Issue.record("an inside hop was not refused: \(rebound)") }
                #expect(resolver.lookups == ["content.test", "content.test", "hop.test", "rebound.test"])
                #expect(inside.hits.withLock { $0 }.isEmpty)
                let hosts = outside.arrivals.withLock { $0 }.map(\.host)
                #expect(hosts.contains("content.test:\(port)") && hosts.contains("hop.test:\(port)"))
                try await verifier.shutdown()
            }
        }
    }
}
