import AsyncHTTPClient
import CompressNIO
import Crypto
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

    /// One export as the signed manifest describes it: what a download must match before its rate counts.
    struct ManifestExport {
        var format: String
        var hash: String?
        var sha256: String
        var bytes: Int64
    }

    /// Publishes the list; returns the manifest's exports and the seconds publishing took.
    func publish(_ id: String) async throws -> (exports: [ManifestExport], entries: Int, seconds: Double) {
        let start = Date()
        let answer = try await client.request(
            "POST", "/v1/hash-lists/\(id)/publish", token: server.adminToken, timeout: .seconds(3600))
        let seconds = Date().timeIntervalSince(start)
        guard let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
            let manifest = object["manifest"] as? [String: Any], let exports = manifest["exports"] as? [[String: Any]]
        else { throw BenchError("publishing failed: \(String(decoding: answer.body.prefix(500), as: UTF8.self))") }
        let described = try exports.map { export -> ManifestExport in
            guard let format = export["format"] as? String, let sha256 = export["sha256"] as? String,
                let bytes = (export["bytes"] as? NSNumber)?.int64Value
            else { throw BenchError("a manifest export without format, sha256 or bytes: \(export)") }
            return ManifestExport(format: format, hash: export["hash"] as? String, sha256: sha256, bytes: bytes)
        }
        return (described, manifest["entry_count"] as? Int ?? 0, seconds)
    }

    /// Downloads one export as a stream, counting bytes, while a sampler reads the server's VmRSS. The
    /// bytes (inflated first, with gzip) are hashed as they arrive and must match the manifest's size and
    /// SHA-256, or the run stops: a rate only counts for an export that is complete and correct.
    func export(_ id: String, _ expected: ManifestExport, entries: Int, gzip: Bool = false) async throws
        -> ExportFigure
    {
        let format = expected.format
        let hash = expected.hash
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
        var check = ExportCheck(gzip: gzip && response.headers.first(name: "Content-Encoding") == "gzip")
        try check.start()
        for try await chunk in response.body {
            bytes += Int64(chunk.readableBytes)
            try check.add(chunk)
        }
        let seconds = Date().timeIntervalSince(start)
        task.cancel()
        let peak = await task.value
        let (digest, size) = try check.finish()
        guard digest == expected.sha256, size == expected.bytes else {
            throw BenchError(
                "export \(path) does not match its manifest: \(size) bytes, SHA-256 \(digest); "
                    + "the manifest says \(expected.bytes) bytes, \(expected.sha256)")
        }
        if gzip, !check.gzip { throw BenchError("export \(path) was asked for with gzip and came without it") }
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

/// SHA-256 and size of an export's bytes as they arrive, inflating them first when they came with gzip.
struct ExportCheck {
    let gzip: Bool
    private var digest = SHA256()
    private var size: Int64 = 0
    private let inflater: (any NIODecompressor)?

    init(gzip: Bool) {
        self.gzip = gzip
        inflater = gzip ? CompressionAlgorithm.gzip().decompressor : nil
    }

    func start() throws {
        guard let inflater else { return }
        inflater.window = ByteBufferAllocator().buffer(capacity: 1 << 16)
        try inflater.startStream()
    }

    mutating func add(_ chunk: ByteBuffer) throws {
        guard let inflater else {
            digest.update(data: chunk.readableBytesView)
            size += Int64(chunk.readableBytes)
            return
        }
        var compressed = chunk
        try compressed.decompressStream(with: inflater) { window in
            digest.update(data: window.readableBytesView)
            size += Int64(window.readableBytes)
        }
    }

    mutating func finish() throws -> (sha256: String, bytes: Int64) {
        try inflater?.finishStream()
        return (digest.finalize().map { String(format: "%02x", $0) }.joined(), size)
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
