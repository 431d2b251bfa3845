import Foundation

/// The hash-list figures: building, publishing, exporting every format at two list sizes (to show that
/// the server's memory does not grow with the list), and reading the change feed.
enum HashListBench {
    static func run(_ options: BenchOptions) async throws {
        let server = try await GatewayProcess.start(
            options: options, environment: ["TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"])
        defer { server.stop() }
        let client = BenchClient(baseURL: server.baseURL, connections: 8)
        let load = HashListLoad(server: server, client: client)
        emit("Hash lists (md5, sha1, sha256 per entry; entries added through the API, 1,000 per request)")
        emit("  every export's size and SHA-256 are checked against the signed manifest before its rate is printed")
        var smallList = ""
        for (name, size) in [("small", options.hashSmall), ("large", options.hashEntries)] {
            let (id, buildSeconds) = try await load.build(name: "bench-\(name)", entries: size)
            if name == "small" { smallList = id }
            emit(
                String(
                    format: "  %@ list: %d entries added in %.1f s (%.0f entries/s)", name, size, buildSeconds,
                    Double(size) / buildSeconds))
            let idle = RSSSampler.rssKiB(server.process.processIdentifier)
            let (exports, entries, publishSeconds) = try await load.publish(id)
            emit(
                String(
                    format:
                        "  published in %.1f s (all %d exports hashed in one pass: %.0f entries/s); server RSS before: %.1f MiB",
                    publishSeconds, exports.count, Double(entries) / publishSeconds, Double(idle) / 1024))
            var runs = exports.map { ($0, false) }
            runs += exports.filter { $0.format == "ndjson" }.map { ($0, true) }
            for (export, gzip) in runs {
                let figure = try await load.export(id, export, entries: entries, gzip: gzip)
                emit(
                    String(
                        format:
                            "    export %@ %9.1f MB in %6.2f s: %7.1f MB/s %10.0f entries/s, server peak RSS %6.1f MiB",
                        figure.format.padding(toLength: 20, withPad: " ", startingAt: 0), Double(figure.bytes) / 1e6,
                        figure.seconds,
                        Double(figure.bytes) / 1e6 / figure.seconds, Double(figure.entries) / figure.seconds,
                        Double(figure.peakRSSKiB) / 1024))
            }
        }
        let changes = min(100_000, options.hashSmall)
        let perSecond = try await load.feed(smallList, changes: changes)
        emit(String(format: "  change feed: %d changes read in pages of 10,000: %.0f changes/s", changes, perSecond))
        emit("")
        try await client.shutdown()
    }

    /// Prints a line at once (`fflush(nil)` flushes every stream), so a long run shows its figures as
    /// they come even when the output goes to a file.
    static func emit(_ line: String) {
        print(line)
        fflush(nil)
    }
}
