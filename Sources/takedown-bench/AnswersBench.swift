import Foundation

/// Answers per second from one provider: one `acknowledge` per request (32 clients at once) against
/// `POST /v1/notices/answers` carrying 1,000 at a time, on the same gateway and notices of the same kind.
enum AnswersBench {
    static let single = 3_000
    static let bulk = 12_000
    static let perRequest = 1_000

    static func run(_ options: BenchOptions) async throws {
        print("Answers: \(single) single acknowledgements against \(bulk) in requests of \(perRequest)")
        var seeding = options
        seeding.cases = single + bulk
        seeding.partners = 1
        let server = try await GatewayProcess.start(options: seeding)
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: seeding)
        _ = try await load.submitCases()
        let token = load.partnerTokens[0]
        let ids = try await noticeIDs(load.client, token: token)
        guard ids.count == single + bulk else {
            throw BenchError("expected \(single + bulk) notices, got \(ids.count)")
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

        let rest = Array(ids.dropFirst(single))
        var requestTimes = Samples()
        let began = ContinuousClock.now
        for start in stride(from: 0, to: rest.count, by: perRequest) {
            let body: [String: Any] = [
                "answers": rest[start..<min(start + perRequest, rest.count)].map {
                    ["notice_id": $0, "answer": "acknowledge"]
                }
            ]
            let sent = ContinuousClock.now
            let answer = try await load.client.request(
                "POST", "/v1/notices/answers", token: token, json: try JSONSerialization.data(withJSONObject: body))
            requestTimes.add((ContinuousClock.now - sent).seconds)
            guard answer.status == 200,
                let results = (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["results"]
                    as? [[String: Any]],
                results.allSatisfy({ $0["result"] as? String == "applied" })
            else { throw BenchError("a bulk request answered \(answer.status) or did not apply every answer") }
        }
        let bulkRate = Double(rest.count) / (ContinuousClock.now - began).seconds
        print(
            String(
                format: "  bulk answers/s (1 client, %d per request)     %10.0f (p50 %.0f ms per request)",
                perRequest, bulkRate, requestTimes.percentile(50)))
        print(String(format: "  bulk against single                              %10.1f x", bulkRate / singleRate))
        print("")
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
