import Foundation

/// Providers, cases and polls through the public API from concurrent clients.
struct IssuanceLoad {
    let server: GatewayProcess
    let options: BenchOptions
    let client: BenchClient
    var partnerTokens: [String] = []
    /// The hash lists every case feeds (with `hashLists`).
    var listIds: [String] = []

    /// `webhooks`: each provider gets a webhook endpoint under this URL (`…/p0`, `…/p1`, …), so every
    /// notice is also an outbox delivery. `hashLists`: two lists (one per audience) take in every case's
    /// hashes, in the case's transaction.
    init(server: GatewayProcess, options: BenchOptions, webhooks: String? = nil, hashLists: Bool = false) async throws {
        self.server = server
        self.options = options
        client = BenchClient(baseURL: server.baseURL, connections: options.concurrency)
        for index in 0..<options.partners {
            var body: [String: Any] = [
                "name": "Bench Hosting \(index)", "kind": "hosting_provider", "contact_email": "abuse@p\(index).test",
                "locale": ["en", "de", "fr"][index % 3], "jurisdiction": "GB",
                "routing": ["domains": ["p\(index).test"]],
            ]
            if let webhooks { body["delivery"] = ["webhook_url": "\(webhooks)/p\(index)"] }
            let answer = try await client.request(
                "POST", "/v1/partners", token: server.adminToken, json: try JSONSerialization.data(withJSONObject: body)
            )
            guard answer.status == 201,
                let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
                let token = object["token"] as? String
            else { throw BenchError("partner creation answered \(answer.status)") }
            partnerTokens.append(token)
        }
        guard hashLists else { return }
        for audience in ["hosting_provider", "law_enforcement"] {
            let body: [String: Any] = [
                "name": "Bench \(audience)", "audience": audience, "hash_types": ["md5", "sha1", "sha256"],
                "include": ["uk_grades": ["A", "B", "C"]],
            ]
            let answer = try await client.request(
                "POST", "/v1/hash-lists", token: server.adminToken,
                json: try JSONSerialization.data(withJSONObject: body))
            guard answer.status == 201,
                let id = (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["id"] as? String
            else { throw BenchError("hash list creation answered \(answer.status)") }
            listIds.append(id)
        }
    }

    /// Entries in each of the hash lists, as the lists report them.
    func listEntryCounts() async throws -> [Int] {
        var counts: [Int] = []
        for id in listIds {
            let answer = try await client.request("GET", "/v1/hash-lists/\(id)", token: server.adminToken)
            guard answer.status == 200,
                let count = (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["entry_count"]
                    as? Int
            else { throw BenchError("GET /v1/hash-lists/\(id) answered \(answer.status)") }
            counts.append(count)
        }
        return counts
    }

    /// Runs `count` requests from `concurrency` workers and measures each.
    func drive(count: Int, _ body: @escaping @Sendable (Int) async throws -> Int) async throws -> (Double, Samples, Int)
    {
        let next = Counter()
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Samples, Int).self) { group in
            for _ in 0..<options.concurrency {
                group.addTask {
                    var samples = Samples()
                    var units = 0
                    while let index = next.take(below: count) {
                        let began = ContinuousClock.now
                        units += try await body(index)
                        samples.add((ContinuousClock.now - began).seconds)
                    }
                    return (samples, units)
                }
            }
            var all = Samples()
            var units = 0
            for try await (samples, count) in group {
                all.values += samples.values
                units += count
            }
            return (all, units)
        }
        return ((ContinuousClock.now - start).seconds, results.0, results.1)
    }

    func trivialRoute() async throws -> Double {
        let count = 20_000
        let (elapsed, _, _) = try await drive(count: count) { _ in
            let answer = try await client.request("GET", "/healthz")
            guard answer.status == 200 else { throw BenchError("healthz answered \(answer.status)") }
            return 1
        }
        return Double(count) / elapsed
    }

    func submitCases() async throws -> Throughput {
        let bodies = (0..<options.cases).map { index -> Data in
            let item: [String: Any] = [
                "url": "https://cdn.p\(index % options.partners).test/\(UUID().uuidString).jpg",
                "observed_at": "2026-11-29T07:00:00Z",
                "hashes": ["md5": Self.hex(16), "sha1": Self.hex(20), "sha256": Self.hex(32)],
            ]
            let body: [String: Any] = [
                "reference": "BENCH-\(index)", "category": ["uk_grade": "A", "classification": "A1"],
                "media_type": "image", "items": [item],
            ]
            return try! JSONSerialization.data(withJSONObject: body)
        }
        let token = server.adminToken
        let (elapsed, samples, notices) = try await drive(count: bodies.count) { index in
            let answer = try await client.request("POST", "/v1/cases", token: token, json: bodies[index])
            guard answer.status == 201 else { throw BenchError("POST /v1/cases answered \(answer.status)") }
            return 1
        }
        return Throughput(
            perSecond: Double(notices) / elapsed, p50: samples.percentile(50), p99: samples.percentile(99))
    }

    func poll() async throws -> Throughput {
        let tokens = partnerTokens
        let pageSize = options.pageSize
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Samples, Int).self) { group in
            for token in tokens {
                group.addTask {
                    var samples = Samples()
                    var cursor: String?
                    var read = 0
                    while true {
                        let path = "/v1/notices?limit=\(pageSize)" + (cursor.map { "&after=\($0)" } ?? "")
                        let began = ContinuousClock.now
                        let answer = try await client.request("GET", path, token: token)
                        samples.add((ContinuousClock.now - began).seconds)
                        guard answer.status == 200,
                            let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
                            let notices = object["notices"] as? [Any]
                        else { throw BenchError("GET /v1/notices answered \(answer.status)") }
                        if notices.isEmpty { break }
                        read += notices.count
                        cursor = object["next_cursor"] as? String
                    }
                    return (samples, read)
                }
            }
            var all = Samples()
            var read = 0
            for try await (samples, count) in group {
                all.values += samples.values
                read += count
            }
            return (all, read)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        guard results.1 == options.cases else {
            throw BenchError("providers read \(results.1) of \(options.cases) notices")
        }
        return Throughput(
            perSecond: Double(results.1) / elapsed, p50: results.0.percentile(50), p99: results.0.percentile(99))
    }

    static func hex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// Hands out work indices to concurrent workers.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
