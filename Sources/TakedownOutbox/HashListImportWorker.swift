import Foundation
import Logging
import ServiceLifecycle
import TakedownDocuments
import TakedownModel
import TakedownStore

/// How hash-list sources are pulled; the command line fills it from settings.
public struct ImportConfiguration: Sendable {
    /// Time allowed for one page.
    public var timeout: TimeInterval = 60
    /// A page larger than this is refused (NCMEC's pages of 1,000 entries are well under 1 MiB).
    public var maxPageBytes = 8 * 1024 * 1024
    /// Idle wait between looks for a due source.
    public var pollInterval: TimeInterval = 1
    /// The wait before a source whose pull failed is tried again (its interval when that is shorter).
    public var retryAfter: TimeInterval = 300
    public var allowPrivateTargets = false
    public var allowedTargets: [IPRange] = []

    public init() {}

    /// How long a claim holds without a page stored: a page that times out, and a margin. A pull whose
    /// process died is taken over by another instance (or the restarted one) once it runs out.
    public var lease: TimeInterval { timeout * 2 + 10 }
}

/// Pulls the hash-list sources that are due, page by page, over NCMEC's hash-sharing API v2.
///
/// A pull reads one time window: from the end of the last window read to its end (less the source's
/// overlap) up to now. Each page is parsed whole (libxml2's streaming reader, see `NCMECDialect`) before
/// anything is stored, then its changes and the source's new position commit in one transaction, so a
/// crash or a bad page resumes at the first page not stored, without loss or double counting. A page that
/// cannot be read or parsed is recorded as the source's error and tried again later, changing nothing.
/// Claims are fenced, so every instance may run this.
public struct HashListImportWorker: Service {
    let store: any GatewayStore
    let fetcher: SourceFetcher
    let configuration: ImportConfiguration
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(
        store: any GatewayStore, configuration: ImportConfiguration, clock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger = Logger(label: "takedown.import"), resolver: any HostResolver = SystemResolver()
    ) {
        self.store = store
        self.configuration = configuration
        self.fetcher = SourceFetcher(
            timeout: configuration.timeout, maxBytes: configuration.maxPageBytes,
            guard: TargetGuard(
                allowPrivate: configuration.allowPrivateTargets, allowed: configuration.allowedTargets,
                resolver: resolver))
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var pulled = false
                do {
                    pulled = try await pullNext()
                } catch {
                    logger.error("hash-list import failed", metadata: ["error": "\(error)"])
                }
                if !pulled { try await Task.sleep(for: .milliseconds(Int(configuration.pollInterval * 1000))) }
            }
        }
        await fetcher.shutdown()
    }

    /// Closes the HTTP client of a worker whose `run()` was never called (tests drive `pullNext`).
    public func shutdown() async {
        await fetcher.shutdown()
    }

    /// Pulls the source due longest ago, if any; true when there was one.
    @discardableResult
    public func pullNext() async throws -> Bool {
        guard let claim = try await store.claimHashListSource(now: clock(), lease: configuration.lease) else {
            return false
        }
        try await pull(claim)
        return true
    }

    /// Reads the claimed source's window to its last page, or to the first page that fails.
    func pull(_ claim: SourceClaim) async throws {
        let source = claim.source
        var state = source.state
        let started = clock()
        state.lastPullAt = started
        if state.window == nil {
            // Whole seconds, as the dialect writes times.
            let to = Date(timeIntervalSince1970: started.timeIntervalSince1970.rounded(.down))
            let from = state.syncedThrough.map { $0.addingTimeInterval(-Double(source.overlapSeconds)) }
            state.window = SourceWindow(from: min(from ?? Date(timeIntervalSince1970: 0), to), to: to, next: nil)
        }
        // The next page is fetched and read while this one is applied: the two overlap, and a page still
        // commits only after the one before it.
        var prefetched: Task<SourcePage, any Error>?
        defer { prefetched?.cancel() }
        while let window = state.window, !Task.isCancelled {
            let link = window.next ?? NCMECDialect.entriesLink(from: window.from, to: window.to)
            let page: SourcePage
            do {
                if let ahead = prefetched {
                    prefetched = nil
                    page = try await ahead.value
                } else {
                    page = try await fetchPage(source, link)
                }
            } catch {
                let reason = "\(error)"
                logger.warning(
                    "hash-list source page refused", metadata: ["source": "\(source.id)", "error": "\(reason)"])
                let now = clock()
                state.lastError = "page \(link): \(reason)"
                state.lastErrorAt = now
                state.nextPullAt = now.addingTimeInterval(min(configuration.retryAfter, Double(source.intervalSeconds)))
                _ = try await store.updateHashListSourceState(claim, state, release: true)
                return
            }
            if let next = page.next {
                let worker = self
                prefetched = Task { try await worker.fetchPage(source, next) }
            }
            let now = clock()
            state.window?.next = page.next
            var leaseUntil: Date? = now.addingTimeInterval(configuration.lease)
            if page.next == nil {
                state.syncedThrough = window.to
                state.window = nil
                state.lastSuccessAt = now
                state.lastError = nil
                state.lastErrorAt = nil
                state.nextPullAt = started.addingTimeInterval(Double(source.intervalSeconds))
                leaseUntil = nil
            }
            guard
                try await store.applyHashListSourcePage(
                    claim, page.changes, state: state, at: now, leaseUntil: leaseUntil) != nil
            else {
                logger.warning("hash-list source claim lost mid-pull", metadata: ["source": "\(source.id)"])
                return
            }
        }
        // Stopped by a shutdown mid-window: the next pull (here or on another instance) goes on from the
        // first page not stored, without waiting for the lease to run out.
        if state.window != nil { _ = try? await store.updateHashListSourceState(claim, state, release: true) }
    }

    /// One page of the source's window, fetched and read.
    func fetchPage(_ source: HashListSource, _ link: String) async throws -> SourcePage {
        let bytes = try await fetcher.get(
            Self.join(source.baseURL, link), username: source.username, password: source.password)
        return try NCMECDialect.readEntriesPage(bytes)
    }

    /// `base` (no trailing slash needed) and a link relative to it.
    static func join(_ base: String, _ link: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + link
    }
}
