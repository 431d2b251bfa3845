import AsyncHTTPClient
import Foundation
import NIOCore

/// The exchange between gateways: a list served in NCMEC's hash-sharing dialect (every page of one window,
/// as a client reads it) beside the NDJSON export of the same list, and the same list imported by a second
/// gateway through a source, with each server's peak resident memory, at two list sizes.
enum ExchangeBench {
    static func run(_ options: BenchOptions) async throws {
        let a = try await GatewayProcess.start(
            options: options, environment: ["TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"])
        defer { a.stop() }
        try await BenchClient.with(a.baseURL, connections: 8) { client in try await run(options, a, client) }
    }

    static func run(_ options: BenchOptions, _ a: GatewayProcess, _ client: BenchClient) async throws {
        let load = HashListLoad(server: a, client: client)
        let partner = try await createPartner(client, admin: a.adminToken)
        HashListBench.emit("Exchange in NCMEC's hash-sharing dialect (gateway A serves, gateway B imports)")
        for size in [options.hashSmall, options.hashEntries] {
            let (id, _) = try await load.build(name: "exchange-\(size)", entries: size)
            let patched = try await client.request(
                "PATCH", "/v1/hash-lists/\(id)", token: a.adminToken,
                json: Data(#"{"partners":["\#(partner.id)"]}"#.utf8))
            guard patched.status == 200 else { throw BenchError("granting the list failed") }
            let (exports, entries, _) = try await load.publish(id)
            guard let ndjson = exports.first(where: { $0.format == "ndjson" }) else {
                throw BenchError("the manifest has no NDJSON export")
            }
            let export = try await load.export(id, ndjson, entries: entries)
            // A window ends at the whole second before it is read: the last entries must be older.
            try await Task.sleep(for: .milliseconds(1100))
            let served = try await serve(a, list: id, partner: partner)
            guard served.entries == size else {
                throw BenchError("the dialect served \(served.entries) entries of \(size)")
            }
            HashListBench.emit(
                String(
                    format:
                        "  %8d entries: NDJSON export %6.2f s (%8.0f entries/s, A peak %5.1f MiB); dialect %6.2f s in %d pages (%8.0f entries/s, A peak %5.1f MiB): %.2f× the export",
                    size, export.seconds, Double(size) / export.seconds, Double(export.peakRSSKiB) / 1024,
                    served.seconds, served.pages, Double(size) / served.seconds, Double(served.peakRSSKiB) / 1024,
                    served.seconds / export.seconds))
            let imported = try await importList(options, from: a, list: id, partner: partner, entries: size)
            HashListBench.emit(
                String(
                    format:
                        "  %8d entries imported by B in %6.2f s (%8.0f entries/s): B peak %5.1f MiB, A peak while serving %5.1f MiB",
                    size, imported.seconds, Double(size) / imported.seconds, Double(imported.peakRSSKiB) / 1024,
                    Double(imported.servingPeakKiB) / 1024))
        }
        HashListBench.emit("")
    }

    struct Partner {
        var id: String
        var token: String
    }

    static func createPartner(_ client: BenchClient, admin: String) async throws -> Partner {
        let answer = try await client.request(
            "POST", "/v1/partners", token: admin,
            json: Data(
                #"{"name":"Hotline B","kind":"hotline","contact_email":"lists@hotline-b.test","locale":"en","jurisdiction":"GB","routing":{"domains":["hotline-b.test"]}}"#
                    .utf8))
        guard answer.status == 201, let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
            let id = object["id"] as? String, let token = object["token"] as? String
        else { throw BenchError("creating the partner failed: \(String(decoding: answer.body, as: UTF8.self))") }
        return Partner(id: id, token: token)
    }

    struct Served {
        var entries: Int
        var pages: Int
        var seconds: Double
        var peakRSSKiB: Int
    }

    /// Reads the whole list as a client of the dialect does: one window from 1970 to now, every page by
    /// its `next` link, with the partner's Basic credentials.
    static func serve(_ server: GatewayProcess, list: String, partner: Partner) async throws -> Served {
        try await BenchClient.with(server.baseURL, connections: 1) { bench in
            try await serve(server, list: list, partner: partner, client: bench.client)
        }
    }

    static func serve(_ server: GatewayProcess, list: String, partner: Partner, client: HTTPClient) async throws
        -> Served
    {
        let base = server.baseURL + "/v1/hash-lists/\(list)/ncmec"
        let sampler = RSSSampler(pid: server.process.processIdentifier)
        let task = Task { await sampler.run() }
        let start = Date()
        var link: String? = "/v2/entries?from=1970-01-01T00%3A00%3A00Z"
        var entries = 0
        var pages = 0
        let authorization = "Basic " + Data("\(partner.id):\(partner.token)".utf8).base64EncodedString()
        while let path = link {
            var request = HTTPClientRequest(url: base + path)
            request.headers.add(name: "Authorization", value: authorization)
            let response = try await client.execute(request, timeout: .seconds(600))
            guard response.status == .ok else { throw BenchError("\(path) answered \(response.status.code)") }
            // The page streams through; only its head (the images' count) and tail (the next link) are kept:
            // a client's own parsing is not the server's time.
            var head: [UInt8] = []
            var tail: [UInt8] = []
            for try await chunk in response.body {
                let bytes = chunk.readableBytesView
                if head.count < 512 { head += bytes.prefix(512 - head.count) }
                tail += bytes.suffix(4096)
                if tail.count > 8192 { tail.removeFirst(tail.count - 4096) }
            }
            entries +=
                between(Array(#"<images count=""#.utf8), Array(#"""#.utf8), in: head)
                .flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            pages += 1
            link = between(Array("<next>".utf8), Array("</next>".utf8), in: tail)
                .map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "&amp;", with: "&") }
        }
        let seconds = Date().timeIntervalSince(start)
        task.cancel()
        let peak = await task.value
        return Served(entries: entries, pages: pages, seconds: seconds, peakRSSKiB: peak)
    }

    /// Where `needle` next occurs in `bytes` from `start`.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
        guard let head = needle.first, needle.count <= bytes.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == head, bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// The bytes between the first `open` and the `close` after it.
    static func between(_ open: [UInt8], _ close: [UInt8], in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        guard let start = find(open, in: bytes).map({ $0 + open.count }), let stop = find(close, in: bytes, from: start)
        else { return nil }
        return bytes[start..<stop]
    }

    struct Imported {
        var seconds: Double
        var peakRSSKiB: Int
        var servingPeakKiB: Int
    }

    /// Starts gateway B on a fresh store, adds A's list as a source of a list of its own (the first pull is
    /// due at once) and waits until the pull has read the window to its end with every entry added.
    static func importList(
        _ options: BenchOptions, from a: GatewayProcess, list: String, partner: Partner, entries: Int
    ) async throws -> Imported {
        let b = try await GatewayProcess.start(
            options: options,
            environment: ["TAKEDOWN_ALLOWED_TARGETS": "127.0.0.1/32", "TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0"],
            database: BenchDatabase.name + "_b")
        defer { b.stop() }
        return try await BenchClient.with(b.baseURL, connections: 2) { client in
            try await importList(from: a, into: b, client: client, list: list, partner: partner, entries: entries)
        }
    }

    static func importList(
        from a: GatewayProcess, into b: GatewayProcess, client: BenchClient, list: String, partner: Partner,
        entries: Int
    ) async throws -> Imported {
        let created = try await client.request(
            "POST", "/v1/hash-lists", token: b.adminToken,
            json: Data(
                #"{"name":"from A","audience":"law_enforcement","hash_types":["md5","sha1","sha256"],"include":{"uk_grades":["A"]}}"#
                    .utf8))
        guard let copy = (try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["id"] as? String
        else { throw BenchError("creating B's list failed") }
        // A's last change must be in a second before the pull's window ends.
        try await Task.sleep(for: .milliseconds(1100))
        let samplerB = RSSSampler(pid: b.process.processIdentifier)
        let samplerA = RSSSampler(pid: a.process.processIdentifier)
        let taskB = Task { await samplerB.run() }
        let taskA = Task { await samplerA.run() }
        let start = Date()
        let source = try await client.request(
            "POST", "/v1/hash-lists/\(copy)/sources", token: b.adminToken,
            json: Data(
                #"{"name":"A","base_url":"\#(a.baseURL)/v1/hash-lists/\#(list)/ncmec","username":"\#(partner.id)","password":"\#(partner.token)","uk_grade":"A"}"#
                    .utf8))
        guard let sourceID = (try JSONSerialization.jsonObject(with: source.body) as? [String: Any])?["id"] as? String
        else { throw BenchError("adding the source failed: \(String(decoding: source.body, as: UTF8.self))") }
        let deadline = Date().addingTimeInterval(3600)
        while true {
            guard Date() < deadline else { throw BenchError("the import did not finish within an hour") }
            let shown = try await client.request(
                "GET", "/v1/hash-lists/\(copy)/sources/\(sourceID)", token: b.adminToken)
            let object = try JSONSerialization.jsonObject(with: shown.body) as? [String: Any] ?? [:]
            if let error = object["last_error"] as? String { throw BenchError("the import failed: \(error)") }
            let added = (object["counts"] as? [String: Any])?["added"] as? Int ?? 0
            if object["status"] as? String == "synced" {
                guard added == entries else { throw BenchError("B imported \(added) entries of \(entries)") }
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let seconds = Date().timeIntervalSince(start)
        taskA.cancel()
        taskB.cancel()
        let peakB = await taskB.value
        let peakA = await taskA.value
        return Imported(seconds: seconds, peakRSSKiB: peakB, servingPeakKiB: peakA)
    }
}
