import Foundation
import LoopbackDNS

/// The hotline exchange: issuance with the hosting trace on (every item's host looked up through a DNS
/// server on loopback, answers cached, addresses routed by range and looked up in an AS table) beside the
/// same load routed by domain; then referrals from gateway A to gateway B: how many per second A sends and
/// B acknowledges (takes with 201), and how soon B's signed `accepted` updates are back at A.
enum ReferralBench {
    /// Distinct host names the traced cases cycle through: the resolver is asked once per name.
    static let hosts = 100

    static func run(_ options: BenchOptions) async throws {
        print("Hotline exchange: hosting trace at intake, referrals between two gateways")
        try await traced(options)
        // One referral in flight per peer endpoint is the outbox default (TAKEDOWN_ENDPOINT_CONCURRENCY).
        for cap in [1, 8] { try await referrals(options, endpointConcurrency: cap) }
        print("")
    }

    /// Runs `takedown` with the server's environment and data folder (an `asn import`, say).
    static func cli(_ server: GatewayProcess, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = server.executable
        process.arguments = arguments + ["--data-dir", server.directory.path]
        process.environment = server.environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("takedown \(arguments.joined(separator: " ")) failed")
        }
    }

    static func traced(_ options: BenchOptions) async throws {
        var answers: [String: LoopbackDNSServer.Answer] = [:]
        for host in 0..<hosts {
            answers["h\(host).trace.test"] = .addresses([
                "198.18.\(host % options.partners).\(host / options.partners + 1)"
            ])
        }
        let dns = try LoopbackDNSServer(answers)
        defer { dns.stop() }
        let server = try await GatewayProcess.start(
            options: options, environment: ["TAKEDOWN_DNS_SERVER": "127.0.0.1:\(dns.port)"])
        defer { server.stop() }
        let table = server.directory.appendingPathComponent("asn.tsv")
        try "198.18.0.0/15\tAS64496\tGB\tBENCH-NET\n".write(to: table, atomically: true, encoding: .utf8)
        try cli(server, ["asn", "import", table.path])
        try await BenchClient.with(server.baseURL, connections: options.concurrency) { client in
            for index in 0..<options.partners {
                let body: [String: Any] = [
                    "name": "Traced Hosting \(index)", "kind": "hosting_provider",
                    "contact_email": "abuse@t\(index).test", "locale": "en", "jurisdiction": "GB",
                    "routing": ["domains": ["p\(index).test"], "ip_ranges": ["198.18.\(index).0/24"]],
                ]
                let answer = try await client.request(
                    "POST", "/v1/partners", token: server.adminToken,
                    json: try JSONSerialization.data(withJSONObject: body))
                guard answer.status == 201 else { throw BenchError("partner creation answered \(answer.status)") }
            }
            let partners = options.partners
            let runs: [(String, @Sendable (Int) -> String)] = [
                ("routed by domain (no lookup)", { "cdn.p\($0 % partners).test" }),
                ("traced: DNS (cached), range, AS table", { "h\($0 % hosts).trace.test" }),
            ]
            for (label, host) in runs {
                let figures = try await issue(options, server: server, client: client, host: host)
                print(
                    String(
                        format: "  issuance %@ notices/s %8.0f  (p50 %.1f ms, p99 %.1f ms)",
                        label.padding(toLength: 38, withPad: " ", startingAt: 0), figures.perSecond,
                        figures.p50, figures.p99))
            }
            let asked = (0..<hosts).map { dns.questions(for: "h\($0).trace.test") }.reduce(0, +)
            print("  DNS questions for \(options.cases) traced cases over \(hosts) names: \(asked) (A and AAAA)")
        }
    }

    static func issue(
        _ options: BenchOptions, server: GatewayProcess, client: BenchClient, host: @escaping @Sendable (Int) -> String
    ) async throws -> Throughput {
        let bodies = (0..<options.cases).map { index -> Data in
            let item: [String: Any] = [
                "url": "https://\(host(index))/\(UUID().uuidString).jpg", "observed_at": "2026-11-29T07:00:00Z",
                "hashes": ["sha256": IssuanceLoad.hex(32)],
            ]
            return try! JSONSerialization.data(withJSONObject: [
                "reference": "TRACE-\(index)", "category": ["uk_grade": "A"], "media_type": "image", "items": [item],
            ])
        }
        let token = server.adminToken
        let next = Counter()
        let start = ContinuousClock.now
        let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
            for _ in 0..<options.concurrency {
                group.addTask {
                    var samples = Samples()
                    while let index = next.take(below: bodies.count) {
                        let began = ContinuousClock.now
                        let answer = try await client.request("POST", "/v1/cases", token: token, json: bodies[index])
                        guard answer.status == 201,
                            !String(decoding: answer.body, as: UTF8.self).contains("no_matching")
                        else { throw BenchError("POST /v1/cases answered \(answer.status) or left the item unrouted") }
                        samples.add((ContinuousClock.now - began).seconds)
                    }
                    return samples
                }
            }
            var all = Samples()
            for try await part in group { all.values += part.values }
            return all
        }
        let elapsed = (ContinuousClock.now - start).seconds
        return Throughput(
            perSecond: Double(bodies.count) / elapsed, p50: samples.percentile(50), p99: samples.percentile(99))
    }

    /// Gateway A refers `count` items to gateway B (one per case, by the AS table's country); B trusts A,
    /// so it accepts each at once and reports back.
    static func referrals(_ options: BenchOptions, endpointConcurrency: Int) async throws {
        let count = max(1, options.cases / 10)
        let environment = [
            "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1", "TAKEDOWN_REFERRAL_REPORT_SECONDS": "0.2",
            "TAKEDOWN_ENDPOINT_CONCURRENCY": "\(endpointConcurrency)",
        ]
        let a = try await GatewayProcess.start(options: options, environment: environment)
        defer { a.stop() }
        let b = try await GatewayProcess.start(
            options: options, environment: environment, database: BenchDatabase.name + "_b")
        defer { b.stop() }
        let table = a.directory.appendingPathComponent("asn.tsv")
        try "203.0.113.0/24\tAS64511\tDE\tBENCH-DE\n".write(to: table, atomically: true, encoding: .utf8)
        try cli(a, ["asn", "import", table.path])
        try await BenchClient.with(a.baseURL, connections: options.concurrency) { clientA in
            try await BenchClient.with(b.baseURL, connections: 4) { clientB in
                let peerB = try await register(clientA, a.adminToken, peer: b.baseURL, country: "DE", trusted: false)
                _ = try await register(clientB, b.adminToken, peer: a.baseURL, country: "GB", trusted: true)
                let provider: [String: Any] = [
                    "name": "DE Hosting", "kind": "hosting_provider", "contact_email": "abuse@de.test", "locale": "de",
                    "jurisdiction": "DE", "routing": ["ip_ranges": ["203.0.113.0/24"]],
                ]
                let created = try await clientB.request(
                    "POST", "/v1/partners", token: b.adminToken,
                    json: try JSONSerialization.data(withJSONObject: provider))
                guard created.status == 201 else { throw BenchError("B's provider answered \(created.status)") }

                let next = Counter()
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<options.concurrency {
                        group.addTask {
                            while let index = next.take(below: count) {
                                let body: [String: Any] = [
                                    "reference": "REFER-\(index)", "category": ["uk_grade": "B"], "media_type": "image",
                                    "items": [
                                        [
                                            "url": "https://203.0.113.\(index % 250 + 1)/\(UUID().uuidString).jpg",
                                            "observed_at": "2026-11-29T07:00:00Z",
                                            "hashes": ["sha256": IssuanceLoad.hex(32)],
                                        ]
                                    ],
                                ]
                                let answer = try await clientA.request(
                                    "POST", "/v1/cases", token: a.adminToken,
                                    json: try JSONSerialization.data(withJSONObject: body))
                                guard answer.status == 201 else {
                                    throw BenchError("A's case answered \(answer.status)")
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let issued = (ContinuousClock.now - start).seconds
                let acknowledged = try await waitFor(count) {
                    try await rows(
                        clientA, a.adminToken, "/v1/deliveries?partner_id=\(peerB)&state=succeeded", key: "deliveries"
                    ).count
                }
                let acknowledgedAt = (ContinuousClock.now - start).seconds
                let accepted = try await waitFor(count) {
                    try await rows(clientA, a.adminToken, "/v1/referrals?direction=out", key: "referrals")
                        .filter { ($0["remote_status"] as? String) != "sent" }.count
                }
                let acceptedAt = (ContinuousClock.now - start).seconds
                print(
                    String(
                        format:
                            "  referrals A→B, %d in flight per endpoint: %d issued at A in %.2f s; sent and acknowledged by B (201, accepted at once) %6.0f referrals/s (all in %.2f s); B's signed `accepted` back at A for %d in %.2f s (%.0f/s)",
                        endpointConcurrency, count, issued, Double(acknowledged) / acknowledgedAt, acknowledgedAt,
                        accepted, acceptedAt,
                        Double(accepted) / acceptedAt))
            }
        }
    }

    static func register(_ client: BenchClient, _ admin: String, peer: String, country: String, trusted: Bool)
        async throws -> String
    {
        let body: [String: Any] = [
            "name": "Hotline \(country)", "kind": "hotline",
            "contact_email": "analysts@hotline-\(country.lowercased()).test",
            "locale": "en", "jurisdiction": country, "routing": ["countries": [country]],
            "delivery": ["gateway": ["base_url": peer, "trusted": trusted]],
        ]
        let answer = try await client.request(
            "POST", "/v1/partners", token: admin, json: try JSONSerialization.data(withJSONObject: body))
        guard answer.status == 201, let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
            let id = object["id"] as? String
        else {
            throw BenchError(
                "registering the peer answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
        }
        return id
    }

    /// Every row of a listing, page by page.
    static func rows(_ client: BenchClient, _ token: String, _ path: String, key: String) async throws -> [[String:
        Any]]
    {
        var all: [[String: Any]] = []
        var after: String?
        while true {
            let url = path + (path.contains("?") ? "&" : "?") + "limit=500" + (after.map { "&after=\($0)" } ?? "")
            let answer = try await client.request("GET", url, token: token)
            guard answer.status == 200,
                let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
                let rows = object[key] as? [[String: Any]]
            else { throw BenchError("\(path) answered \(answer.status)") }
            all += rows
            guard !rows.isEmpty, let next = object["next_cursor"] as? String else { return all }
            after = next
        }
    }

    /// Polls `current` until it reaches `count` (or 120 s pass); returns what it reached.
    static func waitFor(_ count: Int, _ current: () async throws -> Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(120)
        var seen = 0
        while ContinuousClock.now < deadline {
            seen = try await current()
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("only \(seen) of \(count) after 120 s")
    }
}
