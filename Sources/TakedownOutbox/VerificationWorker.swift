import Foundation
import Logging
import Metrics
import ServiceLifecycle
import TakedownModel
import TakedownStore

/// Checks the URLs of notices whose verification is due: after a removal report, and every `interval`
/// while a notice is open or removed but not yet verified. Claims come from the store with a fencing
/// token, so several instances never check one notice at once and a crashed checker's claim expires.
/// Runs as a `Service` inside `takedown serve` and `takedown worker`.
public struct VerificationWorker: Service {
    let store: any GatewayStore
    let verifier: URLVerifier
    let configuration: VerificationConfiguration
    let clock: @Sendable () -> Date
    let logger: Logger

    /// `resolver` answers the target guard's lookups (the system's resolver unless a test scripts one).
    public init(
        store: any GatewayStore, configuration: VerificationConfiguration,
        clock: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "takedown.verification"),
        resolver: any HostResolver = SystemResolver()
    ) {
        self.store = store
        self.configuration = configuration
        self.verifier = URLVerifier(configuration: configuration, resolver: resolver)
        self.clock = clock
        self.logger = logger
    }

    /// Loops until the service group shuts down gracefully, then closes the HTTP client.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var checked = 0
                do {
                    checked = try await runRound()
                } catch {
                    logger.error("verification round failed", metadata: ["error": "\(error)"])
                }
                if checked == 0 { try await Task.sleep(for: .milliseconds(Int(configuration.pollInterval * 1000))) }
            }
        }
        try await verifier.shutdown()
    }

    /// Closes the HTTP client of a worker whose `run()` was never called (tests drive `runRound`).
    public func shutdown() async throws {
        try await verifier.shutdown()
    }

    /// One round: claim due notices, check their URLs, record every check. Returns how many notices.
    @discardableResult
    public func runRound() async throws -> Int {
        var checked = 0
        while checked < configuration.batchSize, !Task.isCancelled {
            let now = clock()
            let lease = configuration.lease
            guard let claim = try await store.claimVerifications(now: now, lease: lease, limit: 1).first else { break }
            try await check(claim, claimedUntil: now.addingTimeInterval(lease))
            checked += 1
        }
        return checked
    }

    /// Checks one notice's items, `configuration.concurrency` at a time (one host that stalls holds only
    /// that many): every item while the notice is open, the unverified ones once removed. The checks are
    /// recorded in the items' order.
    func check(_ claim: VerificationClaim, claimedUntil claimed: Date) async throws {
        guard let notice = try await store.notice(claim.noticeId) else { return }
        let record = try await store.caseRecord(notice.caseId)
        let items = notice.items.filter { notice.status.isOpen || $0.verifiedAt == nil }
        var claimedUntil = claimed
        var done: [(index: Int, check: VerificationCheck)] = []
        try await withThrowingTaskGroup(of: (Int, VerificationCheck).self) { group in
            var next = 0
            var running = 0
            var holding = true
            while running > 0 || (holding && next < items.count) {
                if holding, next < items.count, running < max(1, configuration.concurrency) {
                    // A notice with many slow items keeps its claim; a lost or rescheduled one records what it has.
                    if clock() > claimedUntil.addingTimeInterval(-(configuration.timeout + 30)) {
                        let until = clock().addingTimeInterval(configuration.lease)
                        if try await store.extendVerificationClaim(claim, from: claimedUntil, until: until) {
                            claimedUntil = until
                        } else {
                            holding = false
                            continue
                        }
                    }
                    let (index, item) = (next, items[next])
                    let hashes =
                        record?.items.first { $0.url == item.url && $0.noticeId == notice.id }?.hashes ?? Hashes()
                    group.addTask { (index, await self.verify(item.url, noticeId: notice.id, against: hashes)) }
                    next += 1
                    running += 1
                } else if let finished = try await group.next() {
                    done.append(finished)
                    running -= 1
                }
            }
        }
        let checks = done.sorted { $0.index < $1.index }.map(\.check)
        // Cancelled mid-way (shutdown): record nothing; the claim expires and the notice is checked again.
        guard !Task.isCancelled else { return }
        let now = clock()
        let next = now.addingTimeInterval(configuration.interval)
        let recorded = checks
        let until = claimedUntil
        let updated = try await store.completeVerification(claim, checks: recorded) { notice in
            notice.applyVerification(recorded, at: now, next: next, claimedUntil: until)
        }
        if let updated, updated.status == .verified, let seconds = updated.timeToVerifiedRemoval {
            Timer(
                label: "takedown_time_to_verified_removal_seconds",
                dimensions: [("partner", updated.partnerId.rawValue)]
            )
            .recordNanoseconds(Int64(seconds * 1e9))
        }
        if let updated, updated.status != notice.status {
            logger.info(
                "verification changed a notice",
                metadata: ["notice_id": "\(updated.id)", "from": "\(notice.status)", "to": "\(updated.status)"])
        } else if updated == nil {
            logger.warning(
                "verification claim lost; another instance checks it", metadata: ["notice_id": "\(notice.id)"])
        }
    }

    /// Fetches one item's URL and judges it against the case's hashes.
    func verify(_ url: String, noticeId: NoticeID, against hashes: Hashes) async -> VerificationCheck {
        let fetch = await verifier.fetch(url)
        let (outcome, error) = fetch.judged(against: hashes)
        Counter(label: "takedown_verification_checks_total", dimensions: [("outcome", outcome.rawValue)]).increment()
        return VerificationCheck(
            noticeId: noticeId, url: url, checkedAt: clock(), httpStatus: fetch.status, outcome: outcome, error: error,
            redirects: fetch.redirects, finalUrl: fetch.finalURL)
    }
}
