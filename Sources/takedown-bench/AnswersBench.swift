import Foundation

/// Answers per second from one provider: one `acknowledge` per request (32 clients at once) against
/// `POST /v1/notices/answers` carrying 1,000 at a time, on the same gateway and notices of the same kind.
enum AnswersBench {
    static let single = 3_000
    static let bulk = 12_000
    static let perRequest = 1_000

    static func run(_ options: BenchOptions) async throws {
        print("Answers: \(single) single acknowledgements against 2 x \(bulk) in requests of \(perRequest)")
        var seeding = options
        seeding.cases = single + 2 * bulk
        seeding.partners = 1
        let server = try await GatewayProcess.start(options: seeding)
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: seeding)
        _ = try await load.submitCases()
        let token = load.partnerTokens[0]
        let ids = try await noticeIDs(load.client, token: token)
        guard ids.count == single + 2 * bulk else {
            throw BenchError("expected \(single + 2 * bulk) notices, got \(ids.count)")
        }

        let singles = Array(ids.prefix(single))
        let (elapsed, samples, _) = try await load.drive(count: singles.count) { index in
            let answer = try await load.client.request(
                "POST", "/v1/notices/\(singles[index])/acknowledge", token: token)
            guard answer.status == 200 else { throw BenchError("acknowledge answered \(answer.status)") }
            return 1
        }
        let singleRate = Double(singles.count) / elapsed
        print(
            String(
                format: "  single answers/s (%d clients)                    %10.0f (p50 %.1f ms, p99 %.1f ms)",
                options.concurrency, singleRate, samples.percentile(50), samples.percentile(99)))

        // Bulk from one client, then from four at once (a large provider's several workers), each on
        // notices of its own.
        var offset = single
        for clients in [1, 4] {
            let rest = Array(ids[offset..<offset + bulk])
            offset += bulk
            let (rate, perRequest) = try await bulkRun(load, token: token, ids: rest, clients: clients)
            print(
                String(
                    format: "  bulk answers/s (%d client%@, %d per request)   %10.0f (p50 %.0f ms per request)",
                    clients, clients == 1 ? " " : "s", Self.perRequest, rate, perRequest.percentile(50)))
            print(String(format: "  bulk against single                              %10.1f x", rate / singleRate))
        }
        print("")
    }

    /// Acknowledges `ids` in requests of `perRequest` from `clients` concurrent clients; answers per second.
    static func bulkRun(_ load: IssuanceLoad, token: String, ids: [String], clients: Int) async throws -> (
        Double, Samples
    ) {
        let bodies = try stride(from: 0, to: ids.count, by: perRequest).map { start in
            try JSONSerialization.data(withJSONObject: [
                "answers": ids[start..<min(start + perRequest, ids.count)].map {
                    ["notice_id": $0, "answer": "acknowledge"]
                }
            ])
        }
        let next = Counter()
        let decoder = JSONDecoder()
        let began = ContinuousClock.now
        let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var samples = Samples()
                    while let index = next.take(below: bodies.count) {
                        let sent = ContinuousClock.now
                        let answer = try await load.client.request(
                            "POST", "/v1/notices/answers", token: token, json: bodies[index])
                        samples.add((ContinuousClock.now - sent).seconds)
                        guard answer.status == 200,
                            let results = try? decoder.decode(BulkResults.self, from: answer.body).results,
                            results.count == min(perRequest, ids.count - index * perRequest),
                            results.allSatisfy({ $0.result == "applied" })
                        else {
                            throw BenchError("a bulk request answered \(answer.status) or did not apply every answer")
                        }
                    }
                    return samples
                }
            }
            var all = Samples()
            for try await part in group { all.values += part.values }
            return all
        }
        return (Double(ids.count) / (ContinuousClock.now - began).seconds, samples)
    }

    /// The part of a bulk answer the benchmark checks: every result.
    struct BulkResults: Decodable {
        struct Result: Decodable { var result: String }
        var results: [Result]
    }

    /// Every notice id of the provider, paging through `GET /v1/notices`.
    static func noticeIDs(_ client: BenchClient, token: String) async throws -> [String] {
        var ids: [String] = []
        var cursor = ""
        while true {
            let answer = try await client.request(
                "GET", "/v1/notices?limit=500" + (cursor.isEmpty ? "" : "&after=\(cursor)"), token: token)
            guard answer.status == 200,
                let page = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
                let notices = page["notices"] as? [[String: Any]]
            else { throw BenchError("GET /v1/notices answered \(answer.status)") }
            ids += notices.compactMap { $0["id"] as? String }
            guard !notices.isEmpty, let next = page["next_cursor"] as? String else { return ids }
            cursor = next
        }
    }
}
