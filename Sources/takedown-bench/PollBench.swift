import Foundation

/// 64 providers polling at once, each its own first page of 100 notices, again and again: in full, then
/// lean (`view=lean`). Each answer's latency is one sample; a failed poll stops the bench.
enum PollBench {
    static let providers = 64
    static let noticesEach = 100
    static let pollsEach = 40

    static func run(_ options: BenchOptions) async throws {
        print("Polling: \(providers) providers at once, each its first page of \(noticesEach) notices")
        var seeding = options
        seeding.partners = providers
        seeding.cases = providers * noticesEach
        let server = try await GatewayProcess.start(options: seeding)
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: seeding)
        let seeded = try await load.submitCases()
        print(String(format: "  (seeded at %.0f notices/s)", seeded.perSecond))
        try await BenchClient.with(server.baseURL, connections: providers) { client in
            for view in ["full", "lean"] {
                let path = "/v1/notices?limit=\(noticesEach)" + (view == "lean" ? "&view=lean" : "")
                let began = ContinuousClock.now
                let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
                    for token in load.partnerTokens {
                        group.addTask {
                            var samples = Samples()
                            for _ in 0..<pollsEach {
                                let start = ContinuousClock.now
                                let answer = try await client.request("GET", path, token: token)
                                guard answer.status == 200 else {
                                    throw BenchError("GET \(path) answered \(answer.status)")
                                }
                                samples.add((ContinuousClock.now - start).seconds)
                            }
                            return samples
                        }
                    }
                    var all = Samples()
                    for try await part in group { all.values += part.values }
                    return all
                }
                let elapsed = (ContinuousClock.now - began).seconds
                print(
                    String(
                        format: "  %@ listing: %5.0f polls/s  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms", view,
                        Double(samples.values.count) / elapsed, samples.percentile(50), samples.percentile(99),
                        samples.percentile(100)))
            }
        }
        print("")
    }
}
