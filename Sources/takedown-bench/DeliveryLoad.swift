import Foundation
import Hummingbird
import Synchronization

/// Notices pushed through the outbox to a receiver in this process, which can fail first attempts.
struct DeliveryLoad {
    struct Figures {
        var perSecond: Double
        var p50: Double
        var p99: Double
        var duplicates: Int
        /// With several draining instances on PostgreSQL: each one's share of the in-flight deliveries.
        var shares: [Double] = []
    }

    /// Records arrivals: notice id → first arrival time and issue time; fails the first attempt of half
    /// the notices when asked.
    final class Receiver: Sendable {
        let failHalf: Bool
        let state = Mutex<
            (arrivals: [String: (issued: Date, arrived: Date)], attempts: [String: Int], duplicates: Int)
        >(([:], [:], 0))

        init(failHalf: Bool) { self.failHalf = failHalf }

        var count: Int { state.withLock { $0.arrivals.count } }

        /// Runs `body` with the receiver listening on a loopback port (passed to `body`), then stops it.
        func serving<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
            let app = Application(
                router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in PortBox.shared.set(channel.localAddress?.port ?? 0) })
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.runService(gracefulShutdownSignals: []) }
                defer { group.cancelAll() }
                return try await body(try await PortBox.shared.wait())
            }
        }

        /// Waits until `total` notices arrived, or throws after `limit` seconds; returns when the last came.
        func waitFor(_ total: Int, limit: TimeInterval = 300) async throws -> Date {
            let deadline = Date().addingTimeInterval(limit)
            while count < total {
                guard Date() < deadline else { throw BenchError("only \(count) of \(total) deliveries arrived") }
                try await Task.sleep(for: .milliseconds(20))
            }
            return state.withLock { $0.arrivals.values.map(\.arrived).max() ?? Date() }
        }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("hooks/{name}") { request, _ -> HTTPResponse.Status in
                let body = try await request.body.collect(upTo: 1 << 20)
                let now = Date()
                guard
                    let event = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                    let data = event["data"] as? [String: Any], let id = data["id"] as? String,
                    let issued = (data["issued_at"] as? String).flatMap({
                        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0)
                    })
                else { return .badRequest }
                let fail = self.state.withLock { state -> Bool in
                    let attempt = state.attempts[id, default: 0] + 1
                    state.attempts[id] = attempt
                    if self.failHalf, attempt == 1, id.hashValue & 1 == 0 { return true }
                    if state.arrivals[id] == nil { state.arrivals[id] = (issued, now) } else { state.duplicates += 1 }
                    return false
                }
                // 400, not 5xx: a 5xx would wait the one-minute floor before its retry.
                return fail ? .badRequest : .noContent
            }
            return router
        }
    }

    /// `drain`: the gateway issues everything with no worker, then a `takedown worker` process empties the
    /// backlog, and the rate is counted from the worker's start.
    /// `rate`: issue at this many notices per second instead of as fast as possible, to see latency
    /// below saturation.
    /// `instances`: how many worker processes drain the backlog (with `drain`).
    /// `hostName`: webhook URLs name this host (resolved by the system resolver for every delivery, and the
    /// address guard on, allowing only 127.0.0.1) instead of the address literal 127.0.0.1 with the guard's
    /// reserved ranges off.
    /// `beforeDrain`: runs on the backlog before the workers start (with `drain`).
    static func run(
        options: BenchOptions, failHalf: Bool, drain: Bool = false, rate: Double? = nil, count: Int? = nil,
        instances: Int = 1, hostName: String? = nil,
        beforeDrain: (@Sendable (GatewayProcess) async throws -> Void)? = nil
    ) async throws -> Figures {
        var options = options
        if let count { options.deliveries = count }
        let receiver = Receiver(failHalf: failHalf)
        return try await receiver.serving { port in
            var environment = targetEnvironment(hostName: hostName)
            environment["TAKEDOWN_RETRY_SCHEDULE"] = "0,1,5,30"
            environment["TAKEDOWN_ENDPOINT_CONCURRENCY"] = "\(options.endpointCap)"
            environment["TAKEDOWN_OUTBOX_WORKER"] = drain ? "0" : "1"
            let server = try await GatewayProcess.start(options: options, environment: environment)
            defer { server.stop() }
            return try await drive(
                server: server, receiverURL: "http://\(hostName ?? "127.0.0.1"):\(port)", receiver: receiver,
                options: options, drain: drain ? instances : nil, rate: rate, beforeDrain: beforeDrain)
        }
    }

    /// How the gateway may reach the receiver on 127.0.0.1: by its address literal with reserved ranges
    /// allowed (no lookup, no check), or by a host name with the guard on and only 127.0.0.1 let through.
    static func targetEnvironment(hostName: String?) -> [String: String] {
        hostName == nil ? ["TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1"] : ["TAKEDOWN_ALLOWED_TARGETS": "127.0.0.1/32"]
    }

    static func drive(
        server: GatewayProcess, receiverURL: String, receiver: Receiver, options: BenchOptions, drain: Int?,
        rate: Double?, beforeDrain: (@Sendable (GatewayProcess) async throws -> Void)?
    ) async throws -> Figures {
        let client = BenchClient(baseURL: server.baseURL, connections: options.concurrency)
        let total = options.deliveries
        let next = Counter()
        let started = Date()
        // The client is shut down on every path: one left running traps when it is released.
        do {
            for index in 0..<options.endpoints {
                let body: [String: Any] = [
                    "name": "Hooked \(index)", "kind": "hosting_provider", "contact_email": "abuse@h\(index).test",
                    "jurisdiction": "GB", "routing": ["domains": ["h\(index).test"]],
                    "delivery": ["webhook_url": "\(receiverURL)/hooks/h\(index)"],
                ]
                let answer = try await client.request(
                    "POST", "/v1/partners", token: server.adminToken,
                    json: try JSONSerialization.data(withJSONObject: body)
                )
                guard answer.status == 201 else { throw BenchError("partner creation answered \(answer.status)") }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<options.concurrency {
                    group.addTask {
                        while let index = next.take(below: total) {
                            if let rate {
                                let due = started.addingTimeInterval(Double(index) / rate)
                                let wait = due.timeIntervalSinceNow
                                if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                            }
                            let body: [String: Any] = [
                                "reference": "D-\(index)", "category": ["uk_grade": "A"], "media_type": "image",
                                "items": [
                                    [
                                        "url": "https://h\(index % options.endpoints).test/\(index).jpg",
                                        "observed_at": "2026-11-29T07:00:00Z", "hashes": ["md5": IssuanceLoad.hex(16)],
                                    ]
                                ],
                            ]
                            let answer = try await client.request(
                                "POST", "/v1/cases", token: server.adminToken,
                                json: try JSONSerialization.data(withJSONObject: body))
                            guard answer.status == 201 else {
                                throw BenchError("POST /v1/cases answered \(answer.status)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        var counted = started
        var sampler: InFlightSampler?
        if let drain {
            try await beforeDrain?(server)
            if let url = server.environment["TAKEDOWN_DATABASE_URL"] { sampler = try InFlightSampler(databaseURL: url) }
            counted = Date()
            try server.startWorkers(drain)
        }
        let last = try await receiver.waitFor(total)
        let shares = await sampler?.stop() ?? []
        return receiver.state.withLock { state in
            var latency = Samples()
            for (issued, arrived) in state.arrivals.values { latency.add(arrived.timeIntervalSince(issued)) }
            return Figures(
                perSecond: Double(total) / last.timeIntervalSince(counted), p50: latency.percentile(50),
                p99: latency.percentile(99), duplicates: state.duplicates, shares: shares)
        }
    }
}

/// Hands the receiver's port from the server callback to the benchmark.
final class PortBox: Sendable {
    static let shared = PortBox()
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int) { port.withLock { $0 = value } }

    func wait() async throws -> Int {
        for _ in 0..<500 {
            if let value = port.withLock({ $0 }) {
                port.withLock { $0 = nil }
                return value
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchError("the receiver did not start")
    }
}
