import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TakedownDocuments
import TakedownModel
import TakedownService

/// A hash list in the dialect of NCMEC's hash-sharing API v2, under the list's base URL
/// `/v1/hash-lists/{id}/ncmec`: what `threatexchange`'s `NCMECHashAPI` (and so Hasher-Matcher-Actioner)
/// reads. Partners sign in with HTTP Basic (their partner id and token) as well as with a bearer token.
struct NCMECController {
    let hashListDesk: HashListDesk
    let settings: APISettings

    static let base = "hash-lists/{list_id}/ncmec/v2"
    static let contentType = "application/xml; charset=utf-8"
    /// The page size the client asks for and the largest served.
    static let pageSize = 1_000

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("\(Self.base)/status", use: status)
        group.get("\(Self.base)/members", use: members)
        group.get("\(Self.base)/entries", use: entries)
        group.get("\(Self.base)/feedback/{fingerprint_type}/reasons", use: reasons)
        group.put("\(Self.base)/entries/{member}/{entry_id}/{fingerprint_type}/feedback", use: feedback)
    }

    /// Whether a request path is under a list's dialect base URL (where Basic credentials are taken).
    static func isDialect(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count >= 6 && parts[1] == "v1" && parts[2] == "hash-lists" && parts[4] == "ncmec"
    }

    @Sendable func status(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let member = try await hashListDesk.ncmecStatus(of: try context.listID(), for: principal)
        let username = principal.partnerID?.rawValue ?? principal.actor
        return .bytes(
            try NCMECDialect.status(ipAddress: context.clientAddress, username: username, member: member),
            type: Self.contentType)
    }

    @Sendable func members(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let members = try await hashListDesk.ncmecMembers(of: try context.listID(), for: try context.caller())
        return .bytes(try NCMECDialect.members(members), type: Self.contentType)
    }

    /// The one reason for negative feedback the list's feedback knows: the file is not what the list says
    /// (a false positive). The client picks it by itself when it is the only one.
    @Sendable func reasons(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try await hashListDesk.ncmecMembers(of: try context.listID(), for: try context.caller())
        _ = try Self.fingerprintType(context)
        return .bytes(try NCMECDialect.feedbackReasons([Self.falsePositive]), type: Self.contentType)
    }

    static let falsePositive = NCMECDialect.Reason(
        guid: "6f1d7a52-3c0e-4b8e-9a4f-2d7c5e1b9f03", name: "Not what the list says it is (false positive)")

    static func fingerprintType(_ context: GatewayRequestContext) throws -> String {
        guard let type = context.parameters.get("fingerprint_type"), Self.fingerprintTypes.contains(type) else {
            throw APIError.notFound("no such fingerprint type")
        }
        return type
    }

    /// `PUT /v2/entries/{member}/{id}/{type}/feedback`: affirmative feedback is the list's `confirmed`
    /// verdict, negative feedback (with the false-positive reason) its `false_positive`, each with the
    /// fingerprint type in the comment. The body is read with libxml2's streaming reader, capped at 64 KiB.
    /// 204 when taken; an entry of another member is a 404.
    @Sendable func feedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        let type = try Self.fingerprintType(context)
        let members = try await hashListDesk.ncmecMembers(of: id, for: principal)
        guard let member = context.parameters.get("member").flatMap({ Int64($0) }),
            members.contains(where: { $0.id == member })
        else { throw APIError.notFound("no member with that id on this list") }
        let entry = try context.entryID()
        if let contentType = request.headers[.contentType]?.lowercased(),
            !contentType.hasPrefix("application/xml") && !contentType.hasPrefix("text/xml")
        {
            throw APIError(
                status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type",
                detail: "send the body as application/xml")
        }
        let body = try await BodyReader.collect(request, limit: 64 * 1024, timeout: settings.readTimeout)
        let submission: NCMECDialect.FeedbackSubmission
        do {
            submission = try NCMECDialect.readFeedbackSubmission(Array(buffer: body))
        } catch let error as XMLReadError {
            throw APIError.badRequest("the feedback submission is not usable: \(error)")
        }
        let verdict: HashListFeedback.Verdict
        switch submission {
        case .affirmative: verdict = .confirmed
        case .negative(let guids):
            guard !guids.isEmpty, guids.allSatisfy({ $0 == Self.falsePositive.guid }) else {
                throw APIError.badRequest(
                    "negative feedback needs the reason \(Self.falsePositive.guid) (see /v2/feedback/\(type)/reasons)")
            }
            verdict = .falsePositive
        }
        _ = try await hashListDesk.submitFeedback(
            id, entry, verdict: verdict.rawValue, comment: "NCMEC hash-sharing feedback on the \(type) fingerprint",
            by: principal)
        return Response(status: .noContent)
    }

    /// The fingerprint types the client names in feedback paths.
    static let fingerprintTypes: Set<String> = [
        "MD5", "SHA1", "PDNA", "PDQ", "NETCLEAN", "VIDENTIFIER", "TMK_PDQF", "SSVH_PDNA", "SSVH_SAFER_HASH",
    ]

    @Sendable func entries(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        // Whole seconds, as the dialect writes times: the next link then names exactly this window.
        let second = { (date: Date) in Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }
        let window = NCMECEntriesWindow(
            from: second(try request.date("from") ?? Date(timeIntervalSince1970: 0)),
            to: second(try request.date("to") ?? hashListDesk.now()), start: try Self.number(request, "start"),
            size: Int(try Self.number(request, "size", in: 1...Int64(Self.pageSize)) ?? Int64(Self.pageSize)),
            max: try Self.number(request, "max"))
        let result = try await hashListDesk.ncmecEntries(of: id, window, for: principal)
        let page = NCMECDialect.EntriesPage(
            changes: result.changes, member: result.member,
            next: result.next.map { Self.nextLink(window, start: $0.start, max: $0.max) })
        let hashListDesk = self.hashListDesk
        let slot = try settings.heavySlot(for: principal)
        let body = ResponseBody { writer in
            defer { slot.release() }
            var sent: Int64 = 0
            try await page.write { bytes in
                sent += Int64(bytes.count)
                try await writer.write(ByteBuffer(bytes: bytes))
            }
            try await writer.finish(nil)
            // Noted beside the next request rather than before it: a client reads page after page on one
            // connection, and the next is not read until this response has ended.
            Task { await hashListDesk.noteNCMECDownload(of: id, bytes: sent, by: principal) }
        }
        return Response(status: .ok, headers: [.contentType: Self.contentType], body: body)
    }

    /// The next page's link, relative to the list's base URL, as the client appends it to that URL.
    static func nextLink(_ window: NCMECEntriesWindow, start: Int64, max: Int64) -> String {
        NCMECDialect.entriesLink(from: window.from, to: window.to, start: start, size: window.size, max: max)
    }

    /// A whole-number query parameter within bounds, or 400.
    static func number(_ request: Request, _ name: String, in range: ClosedRange<Int64> = 1...Int64.max) throws
        -> Int64?
    {
        guard let text = request.query(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError.badParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
