import Foundation
import Hummingbird
import TakedownDocuments
import TakedownModel
import TakedownService

/// Hash lists as liaisons and staff see them: each version with its manifest, and each export's size and
/// SHA-256 beside its download button. Downloads go through the API's own handlers, so they stream,
/// count against the same limits and land in the same download log.
struct ConsoleListsController {
    let hashListDesk: HashListDesk
    let partnerDesk: PartnerDesk
    let pages: ConsolePages
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        let downloads = HashListDownloadsController(hashListDesk: hashListDesk, settings: settings)
        group.get("lists", use: lists)
        group.get("lists/{list_id}", use: list)
        group.get("lists/{list_id}/versions/{version}/manifest", use: downloads.manifest)
        group.get("lists/{list_id}/versions/{version}/export", use: downloads.export)
        group.post("lists/{list_id}/publish", use: publish)
        group.post("lists/{list_id}/feedback", use: feedback)
        group.get("lists/{list_id}/review", use: review)
        group.post("lists/{list_id}/feedback/{feedback_id}/resolve", use: resolve)
        group.get("lists/{list_id}/downloads", use: downloadLog)
    }

    @Sendable func lists(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let rows = try await hashListDesk.hashLists(for: principal).map {
            [
                "id": $0.id.rawValue, "name": $0.name,
                "audience": $0.audience.rawValue.replacingOccurrences(
                    of: "_", with: " "),
                "hash_types": $0.kind == .urls ? "URLs" : $0.hashTypes.map(\.rawValue).joined(separator: ", "),
                "updated": TimeView($0.updatedAt),
            ] as [String: Any]
        }
        return try pages.page("lists", title: "Lists", ["lists": rows, "any": !rows.isEmpty], context: context)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let (list, versions) = try await hashListDesk.hashListVersions(try context.listID(), for: principal)
        let decoder = WireFormat.decoder()
        let shown = try versions.sorted { $0.version > $1.version }.prefix(20).map { version in
            let manifest = try decoder.decode(HashListManifest.self, from: version.manifest)
            return [
                "version": version.version, "entries": version.entryCount, "created": TimeView(version.createdAt),
                "expires": TimeView(version.expiresAt), "manifest_sha256": sha256Hex(version.manifest),
                "exports": manifest.exports.map { export in
                    let query = "format=\(export.format.rawValue)" + (export.hash.map { "&hash=\($0.rawValue)" } ?? "")
                    return [
                        "label": export.format.rawValue + (export.hash.map { " (\($0.rawValue))" } ?? ""),
                        "href": "/console/lists/\(list.id)/versions/\(version.version)/export?\(query)",
                        "bytes": Self.size(export.bytes), "exact_bytes": String(export.bytes),
                        "sha256": export.sha256,
                    ]
                },
            ] as [String: Any]
        }
        var content: [String: Any] = [
            "id": list.id.rawValue, "name": list.name, "staff": principal.isStaff, "versions": shown,
            "any": !shown.isEmpty,
        ]
        if principal.isStaff, let hash = request.uri.queryParameters.get("hash").map({ String($0) }), !hash.isEmpty {
            content["hash"] = hash
            do {
                let found = try await hashListDesk.hashListEntries(list.id, hash: hash)
                content["found"] = found.map { entry in
                    present([
                        "id": entry.id.rawValue, "grade": entry.classification.ukGrade.rawValue,
                        "media": entry.mediaType.rawValue, "added": TimeView(entry.createdAt),
                        "deleted": entry.deletedAt.map(TimeView.init),
                        "reason": entry.deletionReason?.rawValue.replacingOccurrences(of: "_", with: " "),
                        "case_id": entry.caseId?.rawValue,
                    ])
                }
                content["none_found"] = found.isEmpty
            } catch GatewayError.badParameter(_, let reason) {
                content["hash_error"] = "The hash \(reason)."
            }
        }
        let flash: String? =
            switch request.uri.queryParameters.get("done") {
            case "published": "Published: the newest version is signed and ready to download."
            case "feedback": "Thank you: the hotline will review your feedback on that entry."
            default: nil
            }
        return try pages.page("list", title: list.name, content, context: context, flash: flash)
    }

    @Sendable func publish(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.listID()
        _ = try await hashListDesk.publishHashList(id)
        return ConsolePages.redirect("/console/lists/\(id)?done=published")
    }

    @Sendable func feedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        let form = try context.consoleForm()
        guard let entry = HashEntryID.parse(form["entry_id"] ?? "") else {
            throw GatewayError.invalid(ValidationError([FieldError(name: "entry_id", reason: "is not an entry id")]))
        }
        _ = try await hashListDesk.submitFeedback(
            id, entry, verdict: form["verdict"], comment: form["comment"], by: principal)
        return ConsolePages.redirect("/console/lists/\(id)?done=feedback")
    }

    /// Staff: the feedback waiting on a list, each with its entry, to keep or delete.
    @Sendable func review(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.listID()
        let list = try await hashListDesk.hashList(id, for: principal)
        let (open, _) = try await hashListDesk.feedback(id, status: "open", after: nil, limit: 100, for: principal)
        let names = Dictionary(
            try await partnerDesk.partners().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows: [[String: Any]] = []
        for feedback in open {
            let entry = try await hashListDesk.hashListEntry(id, feedback.entryId)
            rows.append(
                present([
                    "id": feedback.id.rawValue, "entry_id": feedback.entryId.rawValue,
                    "verdict": feedback.verdict.rawValue.replacingOccurrences(of: "_", with: " "),
                    "comment": feedback.comment.flatMap { $0.isEmpty ? nil : $0 },
                    "from": feedback.partnerId.map { names[$0] ?? $0.rawValue } ?? "staff",
                    "at": TimeView(feedback.createdAt),
                    "hashes": [
                        entry.hashes.md5.map { "md5 \($0)" }, entry.hashes.sha1.map { "sha1 \($0)" },
                        entry.hashes.sha256.map { "sha256 \($0)" },
                    ].compactMap { $0 }.joined(separator: " · "),
                    "case_id": entry.caseId?.rawValue,
                ]))
        }
        let reasons = DeletionReason.allCases.map {
            ["value": $0.rawValue, "label": $0.rawValue.replacingOccurrences(of: "_", with: " ")]
        }
        let content: [String: Any] = [
            "list_id": id.rawValue, "name": list.name, "feedback": rows, "any": !rows.isEmpty, "reasons": reasons,
        ]
        let flash = request.uri.queryParameters.get("done") == "resolved" ? "Resolved." : nil
        return try pages.page("list-review", title: "Feedback on \(list.name)", content, context: context, flash: flash)
    }

    @Sendable func resolve(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.listID()
        let form = try context.consoleForm()
        guard let feedback = FeedbackID.parse(context.parameters.get("feedback_id") ?? "") else {
            throw APIError.notFound("no feedback with that id")
        }
        let action = form["action"]
        _ = try await hashListDesk.resolveFeedback(
            id, feedback, action: action, reason: action == "delete" ? form["reason"] : nil, note: form["note"],
            by: principal)
        return ConsolePages.redirect("/console/lists/\(id)/review?done=resolved")
    }

    /// Staff: who downloaded what, oldest first, a page at a time.
    @Sendable func downloadLog(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.listID()
        let list = try await hashListDesk.hashList(id, for: principal)
        let after: String? = request.uri.queryParameters.get("after").map { String($0) }
        let (rows, next) = try await hashListDesk.downloads(of: id, after: after, limit: 100)
        let content = present([
            "list_id": id.rawValue, "name": list.name, "any": !rows.isEmpty,
            "downloads": rows.map(Self.describe),
            "next": rows.count == 100 ? next : nil,
        ])
        return try pages.page("list-downloads", title: "Downloads of \(list.name)", content, context: context)
    }

    static func describe(_ row: HashListDownload) -> [String: Any] {
        let format: String = row.format + (row.hash.map { " (\($0.rawValue))" } ?? "")
        let gzip: String? = row.gzip ? "gzip" : nil
        return present([
            "at": TimeView(row.at), "actor": row.actor, "version": row.version, "format": format,
            "bytes": size(row.bytes), "gzip": gzip,
        ])
    }

    static func size(_ bytes: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)
    }
}
