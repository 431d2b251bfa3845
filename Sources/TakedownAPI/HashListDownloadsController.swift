import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TakedownDocuments
import TakedownModel
import TakedownService

/// What partners download from `/v1/hash-lists/{id}`: the change feed, versions, signed manifests and
/// exports, with strong ETags and gzip; and, for staff, publishing and the download log.
struct HashListDownloadsController {
    let hashListDesk: HashListDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("hash-lists/{list_id}/changes", use: changes)
        group.post("hash-lists/{list_id}/publish", use: publish)
        group.get("hash-lists/{list_id}/versions", use: versions)
        group.get("hash-lists/{list_id}/versions/{version}/manifest", use: manifest)
        group.get("hash-lists/{list_id}/versions/{version}/export", use: export)
        group.get("hash-lists/{list_id}/downloads", use: downloads)
    }

    struct VersionView: Encodable {
        var version: Int
        var seq: Int64
        var entryCount: Int
        var createdAt: Date
        var expiresAt: Date
        var manifestSha256: String
    }

    struct Versions: Encodable {
        var versions: [VersionView]
        var nextCursor: String
    }

    struct Downloads: Encodable {
        var downloads: [HashListDownload]
        var nextCursor: String
    }

    @Sendable func changes(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        let limit = try request.limit(default: 1_000, max: 10_000)
        let ifNoneMatch = request.headers[.ifNoneMatch]
        let result = try await hashListDesk.changes(
            of: id, after: request.query("after"), limit: limit,
            held: { tag in ifNoneMatch.map { Self.names($0, Self.entityTag(tag)) } ?? false }, for: principal)
        switch result {
        case .unchanged(let tag, let next, let hasMore):
            var response = notModified(Self.entityTag(tag))
            response.headers[Self.nextCursor] = next
            response.headers[Self.hasMore] = hasMore ? "true" : "false"
            return response
        case .page(let page):
            var body = ByteBuffer()
            for line in page.lines {
                body.writeBytes(line)
                body.writeInteger(UInt8(0x0A))
            }
            var headers = caching(Self.entityTag(page.tag))
            headers[.contentType] = "application/x-ndjson"
            headers[Self.nextCursor] = page.nextCursor
            headers[Self.hasMore] = page.hasMore ? "true" : "false"
            headers[Self.minPoll] = String(hashListDesk.settings.minPollSeconds)
            if page.hasMore {
                headers[Self.link] =
                    "</v1/hash-lists/\(id)/changes?after=\(page.nextCursor)&limit=\(limit)>; rel=\"next\""
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
    }

    @Sendable func publish(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let (version, created) = try await hashListDesk.publishHashList(try context.listID())
        let body = signed(version)
        var response = Response.bytes(body, type: "application/json", status: created ? .created : .ok)
        response.headers[.eTag] = etag(of: body)
        return response
    }

    @Sendable func versions(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let (_, versions) = try await hashListDesk.hashListVersions(try context.listID(), for: principal)
        let page = try request.page(of: versions)
        return try .json(
            Versions(
                versions: page.items.map {
                    VersionView(
                        version: $0.version, seq: $0.seq, entryCount: $0.entryCount, createdAt: $0.createdAt,
                        expiresAt: $0.expiresAt, manifestSha256: sha256Hex($0.manifest))
                }, nextCursor: page.nextCursor))
    }

    /// `{"manifest": {...}, "jws": "..."}`: the manifest object is the JWS payload, byte for byte.
    @Sendable func manifest(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let (_, version) = try await hashListDesk.hashListVersion(
            try context.listID(), context.parameters.get("version") ?? "", for: principal)
        let body = signed(version)
        let tag = etag(of: body)
        if let header = request.headers[.ifNoneMatch], Self.names(header, tag) { return notModified(tag) }
        try await hashListDesk.recordDownload(
            of: version, format: "manifest", hash: nil, bytes: Int64(body.count), gzip: false, by: principal)
        var headers = caching(tag)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Streams an export from the store; gzip when the client accepts it. Every request for the same
    /// version, format and hash gets the same bytes, which the manifest's SHA-256 covers.
    @Sendable func export(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let (list, version) = try await hashListDesk.hashListVersion(
            try context.listID(), context.parameters.get("version") ?? "", for: principal)
        let kind = try hashListDesk.exportKind(
            of: version, format: request.query("format"), hash: request.query("hash"))
        let manifest = try WireFormat.decoder().decode(HashListManifest.self, from: version.manifest)
        guard let digest = manifest.export(kind) else { throw APIError.notFound("no such export") }
        // Refused before the headers go out: a failure mid-stream could only cut the connection.
        try hashListDesk.checkExportable(version, of: list)
        let gzip = Self.acceptsGzip(request.headers[.acceptEncoding])
        let tag = "\"\(digest.sha256)\(gzip ? "-gzip" : "")\""
        if let header = request.headers[.ifNoneMatch], Self.names(header, tag) { return notModified(tag) }

        var headers = caching(tag)
        let exporter = HashListExporter(kind: kind, list: list, source: "")
        headers[.contentType] = exporter.contentType
        headers[.vary] = "Accept-Encoding"
        let name =
            "\(list.id)-v\(version.version)-\(kind.format.rawValue)"
            + (kind.hash.map { "-\($0.rawValue)" } ?? (list.kind == .urls && kind.format == .text ? "-urls" : ""))
        headers[.contentDisposition] = "attachment; filename=\"\(name).\(exporter.fileExtension)\""
        if gzip { headers[.contentEncoding] = "gzip" }
        let hashListDesk = self.hashListDesk
        let slot = try settings.heavySlot(for: principal)
        let body = ResponseBody(contentLength: gzip ? nil : Int(digest.bytes)) { writer in
            defer { slot.release() }
            var sent: Int64 = 0
            let compressor = gzip ? try GzipStream() : nil
            try await hashListDesk.writeExport(of: version, list: list, kind: kind) { bytes in
                let out = try compressor.map { try $0.compress(bytes) } ?? [ByteBuffer(bytes: bytes)]
                for buffer in out where buffer.readableBytes > 0 {
                    sent += Int64(buffer.readableBytes)
                    try await writer.write(buffer)
                }
            }
            if let compressor {
                for buffer in try compressor.finish() {
                    sent += Int64(buffer.readableBytes)
                    try await writer.write(buffer)
                }
            }
            try await writer.finish(nil)
            try await hashListDesk.recordDownload(
                of: version, format: kind.format.rawValue, hash: kind.hash, bytes: sent, gzip: gzip, by: principal)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    @Sendable func downloads(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let limit = try request.limit(default: 100, max: 1_000)
        let (rows, next) = try await hashListDesk.downloads(
            of: try context.listID(), after: request.query("after"), limit: limit)
        return try .json(Downloads(downloads: rows, nextCursor: next))
    }

    func signed(_ version: HashListVersion) -> [UInt8] {
        Array("{\"jws\":\"\(version.jws)\",\"manifest\":".utf8) + Array(version.manifest) + [UInt8(ascii: "}")]
    }

    func etag(of body: [UInt8]) -> String { Self.entityTag(sha256Hex(body)) }

    /// A tag as an HTTP entity tag (quoted).
    static func entityTag(_ tag: String) -> String { "\"\(tag)\"" }

    /// Whether an `If-None-Match` value names this entity tag (or `*`).
    static func names(_ ifNoneMatch: String, _ etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag
        }
    }

    func caching(_ etag: String) -> HTTPFields {
        [.eTag: etag, .cacheControl: "private, no-cache"]
    }

    func notModified(_ etag: String) -> Response {
        Response(status: .notModified, headers: caching(etag))
    }

    /// Whether `Accept-Encoding` allows gzip (present without `q=0`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { part in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard pieces.first == "gzip" || pieces.first == "x-gzip" else { return false }
            return !pieces.dropFirst().contains { $0 == "q=0" || $0 == "q=0.0" || $0 == "q=0.00" || $0 == "q=0.000" }
        }
    }

    static let nextCursor = HTTPField.Name("Takedown-Next-Cursor")!
    static let hasMore = HTTPField.Name("Takedown-Has-More")!
    static let minPoll = HTTPField.Name("Takedown-Min-Poll-Seconds")!
    static let link = HTTPField.Name("Link")!
}
