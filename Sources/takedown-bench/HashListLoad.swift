import AsyncHTTPClient
import Foundation
import NIOCore

/// Builds hash lists through the API, publishes them, and measures streamed exports and the change feed,
/// sampling the server's resident memory while it streams.
struct HashListLoad {
    let server: GatewayProcess
    let client: BenchClient

    struct ExportFigure {
        var format: String
        var bytes: Int64
        var seconds: Double
        var entries: Int
        var peakRSSKiB: Int
    }

    /// A list of `entries` files added 1,000 per request by `concurrency` clients; returns its id and the
    /// seconds it took.
    func build(name: String, entries: Int, concurrency: Int = 4) async throws -> (id: String, seconds: Double) {
        let created = try await client.request(
            "POST", "/v1/hash-lists", token: server.adminToken,
            json: Data(
                #"{"name":"\#(name)","audience":"law_enforcement","hash_types":["md5","sha1","sha256"],"include":{"uk_grades":["A","B","C"]}}"#
                    .utf8))
        guard created.status == 201,
            let id = (try JSONSerialization.jsonObject(with: created.body) as? [String: Any])?["id"] as? String
        else { throw BenchError("creating the list failed: \(String(decoding: created.body, as: UTF8.self))") }
        let batches = (entries + 999) / 1000
        let start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    for batch in stride(from: worker, to: batches, by: concurrency) {
                        let count = min(1000, entries - batch * 1000)
                        let body = Self.batch(count, using: &generator)
                        let answer = try await client.request(
                            "POST", "/v1/hash-lists/\(id)/entries", token: server.adminToken, json: body)
                        guard answer.status == 201 else {
                            throw BenchError("adding entries failed: \(String(decoding: answer.body, as: UTF8.self))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return (id, Date().timeIntervalSince(start))
    }

    /// Publishes the list; returns the manifest's exports (format, hash) and the seconds publishing took.
    func publish(_ id: String) async throws -> (exports: [(String, String?)], entries: Int, seconds: Double) {
        let start = Date()
        let answer = try await client.request(
            "POST", "/v1/hash-lists/\(id)/publish", token: server.adminToken, timeout: .seconds(3600))
        let seconds = Date().timeIntervalSince(start)
        guard let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
            let manifest = object["manifest"] as? [String: Any], let exports = manifest["exports"] as? [[String: Any]]
        else { throw BenchError("publishing failed: \(String(decoding: answer.body.prefix(500), as: UTF8.self))") }
        return (
            exports.map { ($0["format"] as? String ?? "", $0["hash"] as? String) },
            manifest["entry_count"] as? Int ?? 0, seconds
        )
    }

    /// Downloads one export as a stream, counting bytes, while a sampler reads the server's VmRSS.
    func export(_ id: String, format: String, hash: String?, entries: Int, gzip: Bool = false) async throws
        -> ExportFigure
    {
        var path = "/v1/hash-lists/\(id)/versions/latest/export?format=\(format)"
        if let hash { path += "&hash=\(hash)" }
        let sampler = RSSSampler(pid: server.process.processIdentifier)
        let task = Task { await sampler.run() }
        let start = Date()
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(server.adminToken)")
        if gzip { request.headers.add(name: "Accept-Encoding", value: "gzip") }
        let response = try await client.client.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else { throw BenchError("export \(path) answered \(response.status.code)") }
        var bytes: Int64 = 0
        for try await chunk in response.body { bytes += Int64(chunk.readableBytes) }
        let seconds = Date().timeIntervalSince(start)
        task.cancel()
        let peak = await task.value
        return ExportFigure(
            format: format + (hash.map { " \($0)" } ?? "") + (gzip ? " (gzip)" : ""), bytes: bytes, seconds: seconds,
            entries: entries, peakRSSKiB: peak)
    }

    /// Pages through the first `changes` records of the feed; returns records per second.
    func feed(_ id: String, changes: Int, limit: Int = 10_000) async throws -> Double {
        var cursor: String?
        var read = 0
        let start = Date()
        while read < changes {
            var request = HTTPClientRequest(
                url: server.baseURL + "/v1/hash-lists/\(id)/changes?limit=\(min(limit, changes - read))"
                    + (cursor.map { "&after=\($0)" } ?? ""))
            request.headers.add(name: "Authorization", value: "Bearer \(server.adminToken)")
            let response = try await client.client.execute(request, timeout: .seconds(600))
            var lines = 0
            for try await chunk in response.body { lines += chunk.readableBytesView.filter { $0 == 0x0A }.count }
            guard lines > 0 else { break }
            read += lines
            cursor = response.headers.first(name: "Takedown-Next-Cursor")
        }
        return Double(read) / Date().timeIntervalSince(start)
    }

    /// `{"entries":[…]}` with random MD5, SHA-1 and SHA-256 values, written without an encoder.
    static func batch(_ count: Int, using generator: inout SystemRandomNumberGenerator) -> Data {
        var out = Array(#"{"entries":["#.utf8)
        out.reserveCapacity(count * 220)
        for index in 0..<count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"media_type":"image","classification":{"uk_grade":"A"},"hashes":{"md5":""#.utf8)
            hex(16, into: &out, using: &generator)
            out += Array(#"","sha1":""#.utf8)
            hex(20, into: &out, using: &generator)
            out += Array(#"","sha256":""#.utf8)
            hex(32, into: &out, using: &generator)
            out += Array(#""}}"#.utf8)
        }
        out += Array("]}".utf8)
        return Data(out)
    }

    static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: Int, into out: inout [UInt8], using generator: inout SystemRandomNumberGenerator) {
        for _ in 0..<bytes {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
    }
}

/// Reads a process's resident set size every 20 ms and keeps the largest.
actor RSSSampler {
    let pid: Int32
    var peakKiB = 0

    init(pid: Int32) { self.pid = pid }

    func run() async -> Int {
        while !Task.isCancelled {
            peakKiB = max(peakKiB, Self.rssKiB(pid))
            try? await Task.sleep(for: .milliseconds(20))
        }
        return max(peakKiB, Self.rssKiB(pid))
    }

    static func rssKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
