import Foundation
import TakedownModel
import TakedownOutbox
import TakedownService
import TakedownStore
import TakedownTestSupport
import Testing

/// A notice's items are checked a few at a time: hosts that stall hold only as many checks as the bound.
/// Every `*.loop.test` name resolves (by the scripted resolver) to the local content server.
@Suite("Verification concurrency")
struct VerificationConcurrencyTests {
    /// Issues a notice for `urls`, reports it removed, and runs one verification round with `concurrency`.
    /// Returns the outcomes in item order and when the round started.
    static func verify(
        _ server: ContentServer, port: Int, items: [String], concurrency: Int, timeout: Double = 1
    ) async throws -> ([VerificationOutcome], ContinuousClock.Instant) {
        let test = try await TestGateway()
        defer { test.remove() }
        let domain = "loop.test"
        let (partner, _, _) = try await test.gateway.partnerDesk.createPartner(
            PartnerInput(
                name: "Stalling Hosting", kind: "hosting_provider", contactEmail: "abuse@\(domain)",
                jurisdiction: "GB", routing: .init(domains: [domain])))
        let hashes = URLVerifierTests.caseHashes
        let receipt = try await test.gateway.caseDesk.submitCase(
            CaseSubmission(
                reference: "HL-STALL-\(Synthetic.hex(4))", category: .init(ukGrade: "A"), mediaType: "image",
                items: items.map {
                    .init(
                        url: "http://\($0):\(port)/\($0.hasPrefix("fast") ? "same" : "stall")",
                        observedAt: Synthetic.epoch, hashes: .init(md5: hashes.md5, sha256: hashes.sha256))
                }),
            by: .analyst(.generate(), name: "t"))
        let id = try #require(receipt.notices.first?.id)
        _ = try await test.gateway.noticeDesk.answer(
            id, .removal(action: .removed, removedAt: nil, urls: nil), by: .partner(.generate(), partner.id))

        var configuration = test.settings.verification
        configuration.timeout = timeout
        configuration.concurrency = concurrency
        configuration.allowedTargets = [IPRange("127.0.0.1/32")!]
        let worker = VerificationWorker(
            store: test.store, configuration: configuration, clock: test.clock.function,
            resolver: ScriptedResolver(fallback: .addresses([IPAddress("127.0.0.1")!])))
        let started = ContinuousClock.now
        let checked = try await worker.runRound()
        try await worker.shutdown()
        #expect(checked == 1)
        return (try await test.store.verificationChecks(notice: id).map(\.outcome), started)
    }

    /// When each host was contacted, in seconds after the round started.
    static func starts(_ server: ContentServer, port: Int, since first: ContinuousClock.Instant) -> [String: Double] {
        let arrivals = server.arrivals.withLock { $0 }
        var starts: [String: Double] = [:]
        for arrival in arrivals {
            let host = String(arrival.host.dropLast(":\(port)".count))
            let offset = arrival.at - first
            starts[host] = Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
        }
        return starts
    }

    @Test("three stalling hosts do not keep a fast one waiting when the bound is four")
    func fastPassesStalls() async throws {
        let server = ContentServer()
        try await server.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            let items = ["stall1.loop.test", "stall2.loop.test", "stall3.loop.test", "fast.loop.test"]
            let (outcomes, started) = try await Self.verify(
                server, port: port, items: items, concurrency: 4, timeout: 2)
            #expect(outcomes == [.inconclusive, .inconclusive, .inconclusive, .stillServed])
            let starts = Self.starts(server, port: port, since: started)
            #expect(starts.count == 4)
            // The fast host is contacted before the first stalled check reached its 2 s limit, measured from
            // that check's own start so a loaded machine's slow round start does not count against it.
            let firstStall = try #require(starts.filter { $0.key.hasPrefix("stall") }.values.min())
            #expect((starts["fast.loop.test"] ?? 99) < firstStall + 2)
        }
    }

    @Test("the bound holds: with two at a time, four stalling hosts hold the fast one for two time limits")
    func boundHolds() async throws {
        let server = ContentServer()
        try await server.run { base in
            let port = try #require(URLComponents(string: base)?.port)
            let items = (1...4).map { "stall\($0).loop.test" } + ["fast.loop.test"]
            let (outcomes, started) = try await Self.verify(server, port: port, items: items, concurrency: 2)
            #expect(outcomes == Array(repeating: .inconclusive, count: 4) + [.stillServed])
            let starts = Self.starts(server, port: port, since: started)
            // No more than two before the first pair reached its 1 s limit; the fast one after both pairs.
            #expect(starts.values.filter { $0 < 1 }.count <= 2)
            #expect((starts["fast.loop.test"] ?? 0) >= 1.95)
        }
    }
}
