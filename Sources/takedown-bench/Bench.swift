import Foundation
import Synchronization

/// `takedown-bench`: starts a real gateway on a fresh store (SQLite, or PostgreSQL with `--database-url`)
/// and measures it through its HTTP API, beside the ceilings it cannot beat on this machine. Prints
/// figures; asserts nothing.
@main
struct Bench {
    static func main() async throws {
        let options: BenchOptions
        do {
            options = try BenchOptions(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch let error as BenchOptions.Refused {
            // Asked for help: the usage on standard output. A wrong option: why, and the usage, on standard error.
            let text =
                error.reason.map { "takedown-bench: \($0)\n\(BenchOptions.usage)\n" } ?? BenchOptions.usage + "\n"
            if error.reason == nil {
                print(text, terminator: "")
                return
            }
            FileHandle.standardError.write(Data(text.utf8))
            exit(2)
        }
        print("takedown-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(options)")
        print("store: \(options.databaseURL == nil ? "SQLite" : "PostgreSQL (a fresh database per gateway)")")
        print("")
        if options.suites.contains("issuance") { try await issuanceAndDelivery(options) }
        if options.suites.contains("hashlists") { try await HashListBench.run(options) }
        if options.suites.contains("instances") { try await instances(options) }
        if options.suites.contains("exchange") { try await ExchangeBench.run(options) }
        if options.suites.contains("referrals") { try await ReferralBench.run(options) }
        if options.suites.contains("console") { try await ConsoleBench.run(options) }
        if options.suites.contains("answers") { try await AnswersBench.run(options) }
        if options.suites.contains("polling") { try await PollBench.run(options) }
        if options.suites.contains("log") { try await LogBench.run(options) }
    }

    /// Deliveries per second with 1, 2, 4 … instances sharing one PostgreSQL: a backlog issued with no
    /// worker running, then emptied by that many `takedown worker` processes at once.
    static func instances(_ options: BenchOptions) async throws {
        guard options.databaseURL != nil else {
            print("Instances: skipped (needs --database-url: instances share one PostgreSQL)")
            return
        }
        print(
            "Instances: a backlog of \(options.deliveries) notices to \(options.endpoints) endpoints (cap \(options.endpointCap)) emptied by N worker processes on one PostgreSQL"
        )
        for count in options.instances {
            let figures = try await DeliveryLoad.run(options: options, failHalf: false, drain: true, instances: count)
            print(
                String(
                    format: "  %d instance%@ deliveries/s                       %10.0f (duplicates %d)", count,
                    count == 1 ? " " : "s", figures.perSecond, figures.duplicates))
            if count > 1 {
                // Each instance's share against an even one: 1.00 is exactly 1/N of the work.
                let even = 1 / Double(count)
                let shares = figures.shares.map { String(format: "%.1f %%", $0 * 100) }.joined(separator: ", ")
                let spread = figures.shares.map { abs($0 / even - 1) }.max() ?? 0
                print(
                    "    shares of the in-flight work: \(shares) (\(figures.shares.count) seen; widest \(String(format: "%.0f", spread * 100)) % from an even share)"
                )
            }
        }
        print("")
    }

    static func issuanceAndDelivery(_ options: BenchOptions) async throws {
        print("Ceilings (same machine, same run)")
        let ceilings = try await Ceilings.measure(seconds: options.ceilingSeconds)
        print(
            String(
                format: "  Ed25519 signatures/s (1 thread, %d-byte payload)  %10.0f", ceilings.noticeBytes,
                ceilings.rawSignaturesPerSecond))
        print(String(format: "  compact JWS signed/s (same payload, 1 thread)    %10.0f", ceilings.signaturesPerSecond))
        if options.databaseURL != nil {
            print("  (the SQLite ceilings below are for comparison: this run's store is PostgreSQL)")
        }
        print(
            String(
                format: "  SQLite single-row commits/s (blocking, WAL)      %10.0f", ceilings.blockingCommitsPerSecond))
        print(
            String(format: "  SQLite single-row commits/s (await pool.write)   %10.0f", ceilings.asyncCommitsPerSecond))
        var postgresCommits: PostgresCeilings.Commits?
        if let url = options.databaseURL {
            let commits = try await PostgresCeilings.commits(serverURL: url, seconds: options.ceilingSeconds)
            postgresCommits = commits
            print(String(format: "  PostgreSQL single-row commits/s, 1 connection   %10.0f", commits.oneConnection))
            print(
                String(
                    format: "  PostgreSQL single-row commits/s, %2d connections %10.0f", commits.connections,
                    commits.pooled))
        }

        let server = try await GatewayProcess.start(options: options)
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: options)
        let trivial = try await load.trivialRoute()
        print(String(format: "  trivial HTTP route (GET /healthz) requests/s     %10.0f", trivial))
        print("")
        print(
            "Issuance: \(options.cases) cases x 1 item, \(options.concurrency) concurrent clients, \(options.partners) providers"
        )
        let issuance = try await load.submitCases()
        print(String(format: "  notices issued/s                                 %10.0f", issuance.perSecond))
        print(
            String(
                format: "  POST /v1/cases latency p50 / p99 (ms)            %10.2f / %.2f", issuance.p50, issuance.p99))
        print("")
        print("Polling: each provider pages through its notices, limit \(options.pageSize)")
        let polling = try await load.poll()
        print(String(format: "  notices read/s                                   %10.0f", polling.perSecond))
        print(
            String(format: "  GET /v1/notices latency p50 / p99 (ms)           %10.2f / %.2f", polling.p50, polling.p99)
        )
        print("")
        try await load.client.shutdown()
        server.stop()
        try await fullIssuance(options)

        print("")
        print(
            "Delivery: \(options.deliveries) notices issued and pushed to \(options.endpoints) webhook endpoints (cap \(options.endpointCap) each) on a local receiver"
        )
        let clean = try await DeliveryLoad.run(options: options, failHalf: false)
        print(String(format: "  deliveries/s (issue to receipt, all received)     %10.0f", clean.perSecond))
        print(String(format: "  issue-to-receipt latency p50 / p99 (ms)          %10.1f / %.1f", clean.p50, clean.p99))
        print(String(format: "  duplicates                                       %10d", clean.duplicates))
        let paced = try await DeliveryLoad.run(options: options, failHalf: false, rate: 200, count: 2000)
        print("  2,000 notices issued at a steady 200 per second (below saturation):")
        print(String(format: "  issue-to-receipt latency p50 / p99 (ms)          %10.1f / %.1f", paced.p50, paced.p99))
        let claimCeiling = options.databaseURL == nil ? nil : ClaimCeiling(options: options)
        let drained = try await DeliveryLoad.run(
            options: options, failHalf: false, drain: true, beforeDrain: claimCeiling.map { ceiling in ceiling.measure }
        )
        print("  a backlog of \(options.deliveries) emptied by a `takedown worker` started after issuing:")
        print(String(format: "  deliveries/s                                     %10.0f", drained.perSecond))
        if let claims = claimCeiling?.result {
            print(
                String(
                    format:
                        "  ceiling: the claim transaction alone on that backlog: %.0f claims/s, %.0f rows/s (%.1f rows each)",
                    claims.perSecond, claims.rowsPerSecond, claims.rowsPerClaim))
        }
        print("  the same with webhook URLs naming `localhost`: the system resolver for every delivery, the guard on")
        print("  (TAKEDOWN_ALLOWED_TARGETS=127.0.0.1/32; the runs above use the literal 127.0.0.1, which is never")
        print("  looked up, with TAKEDOWN_ALLOW_PRIVATE_TARGETS=1):")
        let named = try await DeliveryLoad.run(options: options, failHalf: false, hostName: "localhost")
        print(String(format: "  deliveries/s (issue to receipt, all received)     %10.0f", named.perSecond))
        print(String(format: "  issue-to-receipt latency p50 / p99 (ms)          %10.1f / %.1f", named.p50, named.p99))
        let namedDrain = try await DeliveryLoad.run(
            options: options, failHalf: false, drain: true, hostName: "localhost")
        print(String(format: "  deliveries/s, backlog emptied by a worker         %10.0f", namedDrain.perSecond))
        print(
            String(
                format: "  duplicates                                       %10d",
                named.duplicates + namedDrain.duplicates))
        let flaky = try await DeliveryLoad.run(options: options, failHalf: true)
        print("  with the receiver failing the first attempt of half the notices (retry after ~1 s):")
        print(String(format: "  deliveries/s                                     %10.0f", flaky.perSecond))
        print(String(format: "  issue-to-receipt latency p50 / p99 (ms)          %10.1f / %.1f", flaky.p50, flaky.p99))
        if let postgresCommits {
            print(
                String(
                    format:
                        "Issuance reaches %.0f%% of the trivial route and %.0f%% of single-row PostgreSQL commits (%d connections).",
                    100 * issuance.perSecond / trivial, 100 * issuance.perSecond / postgresCommits.pooled,
                    postgresCommits.connections))
        } else {
            print(
                String(
                    format: "Issuance reaches %.0f%% of the trivial route and %.0f%% of single-row SQLite commits.",
                    100 * issuance.perSecond / trivial, 100 * issuance.perSecond / ceilings.asyncCommitsPerSecond))
        }
    }
}

extension Bench {
    /// Issuance with everything a case sets off: each provider has a webhook endpoint, so the outbox pushes
    /// every notice while cases come in, and two hash lists take in every case's hashes. Counts cases until
    /// the last was answered, then waits for the last push and checks both lists hold every case.
    static func fullIssuance(_ options: BenchOptions) async throws {
        print(
            "Issuance with webhooks and hash lists: the same \(options.cases) cases, every provider pushed to by webhook"
        )
        print(
            "(cap \(options.endpointCap) per endpoint, a receiver in this process), two hash lists taking in every case"
        )
        let receiver = DeliveryLoad.Receiver(failHalf: false)
        try await receiver.serving { port in
            var environment = DeliveryLoad.targetEnvironment(hostName: nil)
            environment["TAKEDOWN_ENDPOINT_CONCURRENCY"] = "\(options.endpointCap)"
            environment["TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS"] = "0"
            let server = try await GatewayProcess.start(options: options, environment: environment)
            defer { server.stop() }
            let load = try await IssuanceLoad(
                server: server, options: options, webhooks: "http://127.0.0.1:\(port)/hooks", hashLists: true)
            let started = Date()
            let issuance = try await load.submitCases()
            print(String(format: "  notices issued/s                                 %10.0f", issuance.perSecond))
            print(
                String(
                    format: "  POST /v1/cases latency p50 / p99 (ms)            %10.2f / %.2f", issuance.p50,
                    issuance.p99))
            let last = try await receiver.waitFor(options.cases, limit: 600)
            print(
                String(
                    format:
                        "  every notice pushed %.1f s after the first case (%.0f deliveries/s overall), duplicates %d",
                    last.timeIntervalSince(started), Double(options.cases) / last.timeIntervalSince(started),
                    receiver.state.withLock { $0.duplicates }))
            let counts = try await load.listEntryCounts()
            guard counts.allSatisfy({ $0 == options.cases }) else {
                throw BenchError("the hash lists hold \(counts) entries, not \(options.cases) each")
            }
            print("  hash lists: \(counts.map(String.init).joined(separator: " and ")) entries, one per case each")
            try await load.client.shutdown()
        }
        print("")
    }
}

/// Measures the claim ceiling on a drain run's backlog (PostgreSQL) and keeps the result for printing.
final class ClaimCeiling: Sendable {
    let options: BenchOptions
    private let figures = Mutex<PostgresCeilings.Claims?>(nil)

    init(options: BenchOptions) { self.options = options }

    var result: PostgresCeilings.Claims? { figures.withLock { $0 } }

    func measure(_ server: GatewayProcess) async throws {
        guard let url = server.environment["TAKEDOWN_DATABASE_URL"] else { return }
        let claims = try await PostgresCeilings.claims(
            databaseURL: url, seconds: options.ceilingSeconds, cap: options.endpointCap)
        figures.withLock { $0 = claims }
    }
}

struct BenchOptions: CustomStringConvertible {
    var cases = 20_000
    var concurrency = 32
    var partners = 10
    var pageSize = 200
    var ceilingSeconds = 2.0
    var deliveries = 10_000
    var endpoints = 32
    var endpointCap = 1
    var hashEntries = 10_000_000
    var hashSmall = 100_000
    var suites: Set<String> = ["issuance", "hashlists"]
    /// PostgreSQL server to benchmark on (a database `takedown_bench` is made anew on it); nil: SQLite.
    var databaseURL: String?
    /// Instance counts for the `instances` suite.
    var instances = [1, 2, 4]

    init(arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        var suitesGiven = false
        defer { if !suitesGiven, databaseURL != nil { suites.insert("instances") } }
        while let flag = iterator.next() {
            if flag == "--suites", let value = iterator.next() {
                suites = Set(value.split(separator: ",").map(String.init))
                suitesGiven = true
                continue
            }
            if flag == "--database-url", let value = iterator.next() {
                databaseURL = value
                continue
            }
            if flag == "--instances", let value = iterator.next() {
                instances = value.split(separator: ",").compactMap { Int($0) }
                continue
            }
            if flag == "--help" || flag == "-h" { throw Refused(reason: nil) }
            guard let value = iterator.next(), let number = Double(value) else {
                throw Refused(reason: "\(flag) needs a number")
            }
            switch flag {
            case "--cases": cases = Int(number)
            case "--concurrency": concurrency = Int(number)
            case "--partners": partners = Int(number)
            case "--page": pageSize = Int(number)
            case "--ceiling-seconds": ceilingSeconds = number
            case "--deliveries": deliveries = Int(number)
            case "--endpoints": endpoints = Int(number)
            case "--endpoint-cap": endpointCap = Int(number)
            case "--hash-entries": hashEntries = Int(number)
            case "--hash-small": hashSmall = Int(number)
            default: throw Refused(reason: "unknown option \(flag)")
            }
        }
    }

    static let usage =
        "usage: takedown-bench [--suites issuance,hashlists,instances,exchange,referrals,console,answers,polling,log] "
        + "[--database-url postgres://…] [--instances 1,2,4] [--cases N] [--concurrency N] [--partners N] "
        + "[--page N] [--ceiling-seconds S] [--deliveries N] [--endpoints N] [--endpoint-cap N] "
        + "[--hash-entries N] [--hash-small N]"

    /// Options that cannot be run: help asked for (no reason), or a wrong option.
    struct Refused: Error {
        let reason: String?
    }

    var description: String {
        "suites=\(suites.sorted().joined(separator: ",")) cases=\(cases) concurrency=\(concurrency) partners=\(partners) "
            + "page=\(pageSize) deliveries=\(deliveries) endpoints=\(endpoints) cap=\(endpointCap) "
            + "hash-entries=\(hashEntries) hash-small=\(hashSmall) instances=\(instances.map(String.init).joined(separator: ","))"
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Latency samples in seconds, reported in milliseconds.
struct Samples {
    var values: [Double] = []

    mutating func add(_ value: Double) { values.append(value) }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[rank] * 1000
    }
}

struct Throughput {
    var perSecond: Double
    var p50: Double
    var p99: Double
}
