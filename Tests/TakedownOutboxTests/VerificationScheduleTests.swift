import Foundation
import ServiceLifecycleTestKit
import Synchronization
import TakedownModel
import TakedownOutbox
import TakedownServer
import TakedownService
import TakedownStore
import TakedownTestSupport
import Testing

/// The verification worker over a real gateway and store, a controllable clock and a local content server.
@Suite("Verification schedule")
struct VerificationScheduleTests {
    static let hour: TimeInterval = 3600

    /// A gateway, a provider routed by 127.0.0.1, and a worker allowed to reach 127.0.0.1 only.
    struct Rig {
        let test: TestGateway
        let provider: Principal
        let configuration: VerificationConfiguration
        let worker: VerificationWorker

        init(configure: (inout ServerSettings) -> Void = { _ in }) async throws {
            test = try await TestGateway { settings in
                settings.verification.interval = 6 * VerificationScheduleTests.hour
                configure(&settings)
            }
            let (partner, _, _) = try await test.gateway.partnerDesk.createPartner(
                PartnerInput(
                    name: "Loopback Hosting", kind: "hosting_provider", contactEmail: "abuse@loop.test",
                    jurisdiction: "GB", routing: .init(ipRanges: ["127.0.0.1/32"])))
            provider = .partner(.generate(), partner.id)
            var configuration = test.settings.verification
            configuration.timeout = 5
            configuration.allowedTargets = [IPRange("127.0.0.1/32")!]
            self.configuration = configuration
            worker = VerificationWorker(store: test.store, configuration: configuration, clock: test.clock.function)
        }

        /// Issues one notice for `paths` on the server, hashed as the original bytes.
        func issue(_ base: String, paths: [String]) async throws -> NoticeID {
            let hashes = URLVerifierTests.caseHashes
            let receipt = try await test.gateway.caseDesk.submitCase(
                CaseSubmission(
                    reference: "HL-VERIFY-\(Synthetic.hex(4))", category: .init(ukGrade: "A"), mediaType: "image",
                    items: paths.map {
                        .init(
                            url: base + $0, observedAt: Synthetic.epoch,
                            hashes: .init(md5: hashes.md5, sha256: hashes.sha256))
                    }),
                by: .analyst(.generate(), name: "t"))
            return try #require(receipt.notices.first?.id)
        }

        func removal(_ id: NoticeID) async throws {
            _ = try await test.gateway.noticeDesk.answer(
                id, .removal(action: .removed, removedAt: nil, urls: nil), by: provider)
        }

        func notice(_ id: NoticeID) async throws -> Notice { try #require(try await test.store.notice(id)) }

        func outcomes(_ id: NoticeID) async throws -> [VerificationOutcome] {
            try await test.store.verificationChecks(notice: id).map(\.outcome)
        }

        /// Another instance's store on the same database.
        func otherStore() async throws -> any GatewayStore {
            try await GatewayComposition.store(test.settings)
        }

        func close() async throws {
            try await worker.shutdown()
            await test.close()
        }
    }

    @Test("a removal report is checked at once; when every item is gone the notice is verified")
    func afterRemoval() async throws {
        let rig = try await Rig()
        let server = ContentServer()
        try await server.run { base in
            let id = try await rig.issue(base, paths: ["/item", "/gone410"])
            #expect(try await rig.worker.runRound() == 0)  // the first scheduled check is 6 h after issue
            rig.test.clock.advance(by: Self.hour)
            try await rig.removal(id)
            #expect(try await rig.notice(id).verifyDueAt == rig.test.clock.now)
            server.item.withLock { $0 = .other }  // the host replaced the file
            #expect(try await rig.worker.runRound() == 1)
            let notice = try await rig.notice(id)
            #expect(notice.status == .verified)
            #expect(notice.verifiedAt == rig.test.clock.now)
            #expect(notice.timeline.map(\.event).suffix(2) == ["removed", "verified"])
            #expect(try await rig.outcomes(id) == [.contentChanged, .gone])
            let checks = try await rig.test.store.verificationChecks(notice: id)
            #expect(checks.map(\.httpStatus) == [200, 410])
            #expect(checks.allSatisfy { $0.checkedAt == rig.test.clock.now && $0.error == nil })

            // Verified notices are not checked again, and the figures count them.
            rig.test.clock.advance(by: 7 * Self.hour)
            #expect(try await rig.worker.runRound() == 0)
            let figures = RemovalFigures(
                try await rig.test.gateway.figureDesk.removalRows(from: nil, to: nil, partner: nil))
            #expect(figures.verified == 1)
            #expect(figures.timeToVerifiedRemoval.medianSeconds == Self.hour)
        }
        try await rig.close()
    }

    @Test("still served: the notice re-opens with removal_not_verified and the ladder carries on")
    func stillServed() async throws {
        let rig = try await Rig()
        let server = ContentServer()
        try await server.run { base in
            let id = try await rig.issue(base, paths: ["/item"])
            rig.test.clock.advance(by: Self.hour)
            try await rig.removal(id)
            #expect(try await rig.test.gateway.noticeDesk.climbLadder() == 0)
            #expect(try await rig.worker.runRound() == 1)
            var notice = try await rig.notice(id)
            #expect(notice.status == .acknowledged)
            #expect(notice.removedAt == nil)
            #expect(notice.items.first?.removedAt == nil)
            #expect(notice.timeline.last?.event == "removal_not_verified")
            #expect(notice.verifyDueAt == rig.test.clock.now.addingTimeInterval(6 * Self.hour))

            // The reminder at +2 h is sent: the ladder did not stop at the false removal report.
            rig.test.clock.advance(by: Self.hour)
            #expect(try await rig.test.gateway.noticeDesk.climbLadder() == 1)
            notice = try await rig.notice(id)
            #expect(notice.timeline.last?.event == "reminder_sent")

            // Checked again on the schedule while open; then removed for real and verified.
            #expect(try await rig.worker.runRound() == 0)
            rig.test.clock.advance(by: 5 * Self.hour)  // +7 h: the periodic check is due
            #expect(try await rig.worker.runRound() == 1)
            #expect(try await rig.outcomes(id) == [.stillServed, .stillServed])
            server.item.withLock { $0 = .gone }
            try await rig.removal(id)
            #expect(try await rig.worker.runRound() == 1)
            #expect(try await rig.notice(id).status == .verified)
            #expect(try await rig.outcomes(id) == [.stillServed, .stillServed, .gone])
            #expect(try await rig.test.gateway.noticeDesk.climbLadder() == 0)
        }
        try await rig.close()
    }

    @Test(
        "open notices are checked every interval; two instances never check one notice twice",
        arguments: TestBackend.available)
    func periodic(_ backend: TestBackend) async throws {
        try await backend.run { database in
            let rig = try await Rig(configure: database)
            let otherStore = try await rig.otherStore()
            let other = VerificationWorker(
                store: otherStore, configuration: rig.configuration, clock: rig.test.clock.function)
            let server = ContentServer()
            try await server.run { base in
                // Several notices due at once, so the two instances meet on several rows.
                let ids = try await (0..<6).asyncMap { _ in try await rig.issue(base, paths: ["/item"]) }
                rig.test.clock.advance(by: 6 * Self.hour)
                async let first = rig.worker.runRound()
                async let second = other.runRound()
                #expect(try await first + second == ids.count)
                for id in ids {
                    #expect(try await rig.outcomes(id) == [.stillServed])
                    #expect(try await rig.notice(id).status == .issued)
                }
                rig.test.clock.advance(by: 6 * Self.hour - 1)
                #expect(try await rig.worker.runRound() == 0)
                rig.test.clock.advance(by: 1)
                async let again = rig.worker.runRound()
                async let otherAgain = other.runRound()
                #expect(try await again + otherAgain == ids.count)
                for id in ids { #expect(try await rig.outcomes(id) == [.stillServed, .stillServed]) }
            }
            try await other.shutdown()
            await GatewayComposition.close(otherStore)
            try await rig.close()
        }
    }

    @Test("the worker checks due notices while it runs and stops at graceful shutdown")
    func service() async throws {
        var polling = VerificationConfiguration()
        polling.pollInterval = 0.05
        polling.allowedTargets = [IPRange("127.0.0.1/32")!]
        let configuration = polling
        let server = ContentServer()
        try await server.run { base in
            let rig = try await Rig()
            defer { rig.test.remove() }
            let id = try await rig.issue(base, paths: ["/gone404"])
            try await rig.removal(id)
            let worker = VerificationWorker(
                store: rig.test.store, configuration: configuration, clock: rig.test.clock.function)
            try await testGracefulShutdown { trigger in
                let running = Task { try await worker.run() }
                for _ in 0..<100 where try await rig.notice(id).status != .verified {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(try await rig.notice(id).status == .verified)
                let started = ContinuousClock.now
                trigger.triggerGracefulShutdown()
                try await running.value  // returns, having shut its HTTP client down
                #expect(ContinuousClock.now - started < .seconds(5))  // polls every 50 ms; room for loaded cores
            }
            try await rig.worker.shutdown()
        }
    }

    @Test(
        "a notice whose checks outlast the lease keeps its claim; no other instance takes it meanwhile",
        arguments: TestBackend.available)
    func longCheck(_ backend: TestBackend) async throws {
        try await backend.run { database in try await checksOutlastTheLease(database) }
    }

    func checksOutlastTheLease(_ database: @escaping @Sendable (inout ServerSettings) -> Void) async throws {
        let rig = try await Rig(configure: database)
        let otherStore = try await rig.otherStore()
        let server = ContentServer()
        let stolen = Mutex<[VerificationClaim]>([])
        let claimFailures = Mutex<[String]>([])
        try await server.run { base in
            // 20 items, each answered only at the time limit: 100 s in all, longer than one lease (75 s).
            let id = try await rig.issue(base, paths: (1...20).map { "/gone404?n=\($0)" })
            try await rig.removal(id)
            let configuration = rig.configuration
            #expect(configuration.lease < 20 * configuration.timeout)
            server.onRequest.withLock {
                $0 = {
                    rig.test.clock.advance(by: configuration.timeout)
                    // A claim that throws proves nothing about the lease: it fails the test.
                    do {
                        let taken = try await otherStore.claimVerifications(
                            now: rig.test.clock.now, lease: configuration.lease, limit: 1)
                        stolen.withLock { $0 += taken }
                    } catch {
                        claimFailures.withLock { $0.append(String(describing: error)) }
                    }
                }
            }
            #expect(try await rig.worker.runRound() == 1)
            #expect(server.hits.withLock { $0 }.count == 20)
            #expect(stolen.withLock { $0 }.isEmpty)
            #expect(claimFailures.withLock { $0 } == [])
            #expect(try await rig.outcomes(id) == Array(repeating: .gone, count: 20))
            #expect(try await rig.notice(id).status == .verified)
        }
        await GatewayComposition.close(otherStore)
        try await rig.close()
    }
}

extension Sequence {
    /// The results of `transform` on each element, one after another.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
