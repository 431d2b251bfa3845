import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownSigning
import TakedownStore

/// The tamper-evident log: checkpoints, entries, inclusion and consistency proofs, and the tree as C2SP
/// tiles. Checkpoints, the key and hash tiles hold no record's data and are public; entries name records
/// and are for staff; a partner reads the proofs of its own notices and of the lists it may download.
struct LogController {
    let logDesk: LogDesk
    let noticeDesk: NoticeDesk
    let hashListDesk: HashListDesk
    let referralDesk: ReferralDesk

    /// `/log/checkpoint`, `/log/tile/…` and the key: static files for mirrors and monitors.
    func registerPublic(on router: Router<GatewayRequestContext>) {
        router.get(".well-known/takedown-log-key", use: key)
        router.get("log/checkpoint", use: publicCheckpoint)
        router.get("log/tile/**", use: tile)
    }

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("log/checkpoint", use: checkpoint)
        group.post("log/checkpoint", use: signCheckpoint)
        group.get("log/entries", use: entries)
        group.get("log/consistency", use: consistency)
        group.get("notices/{notice_id}/proof", use: noticeProof)
        group.get("hash-lists/{list_id}/versions/{version}/proof", use: versionProof)
        group.get("referrals/{referral_id}/proof", use: referralProof)
    }

    static let noteType = "text/plain; charset=utf-8"

    @Sendable func key(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var response = Response.bytes(Array((try await logDesk.verifierKey() + "\n").utf8), type: Self.noteType)
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }

    @Sendable func publicCheckpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var response = Response.bytes(Array(try await logDesk.latestCheckpoint().note.utf8), type: Self.noteType)
        response.headers[.cacheControl] = "no-cache"
        return response
    }

    /// The latest checkpoint, or with `?size=N` the one kept at that size.
    @Sendable func checkpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.caller()
        let kept =
            if let size = try request.int64("size", in: 1...Int64.max) {
                try await logDesk.checkpoint(size: size)
            } else {
                try await logDesk.latestCheckpoint()
            }
        return .bytes(Array(kept.note.utf8), type: Self.noteType)
    }

    /// Sequences what waits and signs a checkpoint now (staff).
    @Sendable func signCheckpoint(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return .bytes(Array(try await logDesk.checkpoint().note.utf8), type: Self.noteType)
    }

    struct Entry: Encodable {
        var index: Int64
        var subject: String
        /// The entry's exact bytes, base64: what the leaf hash is of.
        var body: String
        /// The same bytes read as the JSON object they are.
        var entry: [String: String]?

        init(_ logged: LoggedEntry) {
            index = logged.index
            subject = logged.subject
            body = logged.body.base64EncodedString()
            entry = try? JSONDecoder().decode([String: String].self, from: logged.body)
        }
    }

    struct EntryPage: Encodable {
        var treeSize: Int64
        var entries: [Entry]
    }

    /// `?start=&end=`: sequenced entries, at most 1,000 (staff).
    @Sendable func entries(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let start = try request.int64("start", in: 0...Int64.max) ?? 0
        let end =
            try request.int64("end", in: 0...Int64.max)
            ?? (start > Int64.max - LogDesk.pageLimit ? Int64.max : start + LogDesk.pageLimit)
        guard end >= start else { throw APIError.badParameter("end", "must not be below start") }
        let size = try await logDesk.size()
        let page = try await logDesk.entries(start: start, end: min(end, size))
        return try .json(EntryPage(treeSize: size, entries: page.map(Entry.init)))
    }

    struct Consistency: Encodable {
        var first: Int64
        var second: Int64
        var proof: [String]
    }

    /// `?first=&second=`: PROOF(first, D[second]) between two tree sizes.
    @Sendable func consistency(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.caller()
        guard let first = try request.int64("first", in: 0...Int64.max) else {
            throw APIError.badParameter("first", "is required")
        }
        guard let second = try request.int64("second", in: 0...Int64.max) else {
            throw APIError.badParameter("second", "is required")
        }
        guard first <= second else { throw APIError.badParameter("first", "must not be above second") }
        let size = try await logDesk.size()
        guard second <= size else { throw APIError.badParameter("second", "must not be above the tree size \(size)") }
        let proof = try await logDesk.consistencyProof(from: first, to: second)
        return try .json(Consistency(first: first, second: second, proof: proof.map { $0.base64EncodedString() }))
    }

    struct Proofs: Encodable {
        struct Proven: Encodable {
            var index: Int64
            var body: String
            var entry: [String: String]?
            var proof: [String]
        }

        var checkpoint: String
        var treeSize: Int64
        var entries: [Proven]

        init(_ proofs: LogProofs) {
            checkpoint = proofs.checkpoint.note
            treeSize = proofs.checkpoint.size
            entries = proofs.entries.map { proven in
                let entry = Entry(proven.entry)
                return Proven(
                    index: entry.index, body: entry.body, entry: entry.entry,
                    proof: proven.proof.map { $0.base64EncodedString() })
            }
        }
    }

    /// A notice's entries (its issue and every step of its timeline) with their proofs; a partner's own only.
    @Sendable func noticeProof(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: try context.caller())
        return try .json(Proofs(try await logDesk.proofs(about: notice.id.rawValue)))
    }

    /// A published list version's entry with its proof, for whoever may download the list.
    @Sendable func versionProof(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (list, version) = try await hashListDesk.hashListVersion(
            try context.parameters.id("list_id", as: HashListID.self), context.parameters.get("version") ?? "",
            for: try context.caller())
        return try .json(Proofs(try await logDesk.proofs(list: list.id, version: version.version)))
    }

    /// A referral's entries (received, decided) with their proofs (staff).
    @Sendable func referralProof(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let referral = try await referralDesk.referral(
            try context.parameters.id("referral_id", as: ReferralID.self))
        return try .json(Proofs(try await logDesk.proofs(about: referral.id.rawValue)))
    }

    /// `/log/tile/<L>/<N>[.p/<W>]`: the hashes of a tile, immutable once full.
    @Sendable func tile(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let path = "tile/" + context.parameters.getCatchAll().joined(separator: "/")
        guard let tile = LogTiles.tile(path: path) else {
            throw APIError.notFound("no tile at /log/\(path.prefix(200))")
        }
        guard let data = try await logDesk.tile(tile) else {
            throw APIError.notFound("the tree does not hold \(tile.path) yet")
        }
        var response = Response.bytes(data, type: "application/octet-stream")
        response.headers[.cacheControl] =
            tile.width == LogTiles.width ? "public, max-age=31536000, immutable" : "public, max-age=60"
        return response
    }
}

extension Request {
    /// A query parameter holding a whole number within `range`, or 400.
    func int64(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = query(name) else { return nil }
        guard text.utf8.count <= 20, let value = Int64(text), range.contains(value) else {
            throw APIError.badParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
