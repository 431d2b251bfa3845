import Foundation
import TakedownSigning

/// The tamper-evident log once cases have filled it: sequencing and signing every pending entry at once,
/// then inclusion proofs of notices (each proof read from the stored nodes), consistency proofs, and the
/// public tiles, each from `concurrency` clients.
enum LogBench {
    static func run(_ options: BenchOptions) async throws {
        print("Log: \(options.cases) cases, then proofs and tiles with \(options.concurrency) clients")
        // A checkpoint every hour: the first one below signs every entry the cases wrote, in one round.
        let server = try await GatewayProcess.start(
            options: options, environment: ["TAKEDOWN_LOG_CHECKPOINT_SECONDS": "3600"])
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: options)
        let seeded = try await load.submitCases()
        print(String(format: "  (seeded at %.0f notices/s)", seeded.perSecond))
        let admin = server.adminToken
        let client = load.client
        let began = ContinuousClock.now
        let signed = try await client.request("POST", "/v1/log/checkpoint", token: admin, timeout: .seconds(600))
        guard signed.status == 200 else { throw BenchError("POST /v1/log/checkpoint answered \(signed.status)") }
        let sequencing = (ContinuousClock.now - began).seconds
        let size = Int(String(decoding: signed.body, as: UTF8.self).split(separator: "\n")[1]) ?? 0
        print(
            String(
                format: "  sequencing and signing %d entries: %.2f s (%.0f entries/s)", size, sequencing,
                Double(size) / sequencing))

        var notices: [String] = []
        var start = 0
        while notices.count < 2_000, start < size {
            let page = try await client.request(
                "GET", "/v1/log/entries?start=\(start)&end=\(start + 1000)", token: admin)
            guard page.status == 200,
                let object = try JSONSerialization.jsonObject(with: page.body) as? [String: Any],
                let entries = object["entries"] as? [[String: Any]]
            else { throw BenchError("GET /v1/log/entries answered \(page.status)") }
            for entry in entries {
                if let fields = entry["entry"] as? [String: String], fields["kind"] == "notice.issued",
                    let id = fields["notice"]
                {
                    notices.append(id)
                }
            }
            start += 1000
        }
        guard !notices.isEmpty else { throw BenchError("the log holds no notice") }
        let chosen = notices
        let proofs = try await load.drive(count: 5_000) { index in
            let answer = try await client.request(
                "GET", "/v1/notices/\(chosen[index % chosen.count])/proof", token: admin)
            guard answer.status == 200 else { throw BenchError("GET …/proof answered \(answer.status)") }
            return 1
        }
        report("notice proofs (2 entries each)", proofs, count: 5_000)
        let consistency = try await load.drive(count: 5_000) { index in
            let first = 1 + index * 7919 % max(1, size - 1)
            let answer = try await client.request(
                "GET", "/v1/log/consistency?first=\(first)&second=\(size)", token: admin)
            guard answer.status == 200 else { throw BenchError("GET /v1/log/consistency answered \(answer.status)") }
            return 1
        }
        report("consistency proofs", consistency, count: 5_000)
        let fullTiles = max(1, size / 256)
        let tiles = try await load.drive(count: 10_000) { index in
            let tile = index % fullTiles
            let path = "/log/" + LogTiles.Tile(level: 0, index: Int64(tile), width: min(size, LogTiles.width)).path
            let answer = try await client.request("GET", path)
            guard answer.status == 200 else { throw BenchError("GET \(path) answered \(answer.status)") }
            return 1
        }
        report("level-0 tiles (8 KiB each)", tiles, count: 10_000)
        try await client.shutdown()
        print("")
    }

    static func report(_ what: String, _ result: (Double, Samples, Int), count: Int) {
        let (elapsed, samples, _) = result
        print(
            String(
                format: "  %@: %6.0f/s  p50 %6.1f ms  p99 %6.1f ms", what, Double(count) / elapsed,
                samples.percentile(50), samples.percentile(99)))
    }
}
