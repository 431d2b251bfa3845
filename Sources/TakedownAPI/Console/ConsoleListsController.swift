import Foundation
import Hummingbird
import TakedownDocuments
import TakedownModel
import TakedownService

/// Hash lists as liaisons and staff see them: each version with its manifest, and each export's size and
/// SHA-256 beside its download button. Downloads go through the API's own handlers, so they stream,
/// count against the same limits and land in the same download log.
struct ConsoleListsController {
    let gateway: Gateway
    let pages: ConsolePages
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        let downloads = HashListDownloadsController(gateway: gateway, settings: settings)
        group.get("lists", use: lists)
        group.get("lists/{list_id}", use: list)
        group.get("lists/{list_id}/versions/{version}/manifest", use: downloads.manifest)
        group.get("lists/{list_id}/versions/{version}/export", use: downloads.export)
        group.post("lists/{list_id}/publish", use: publish)
        group.post("lists/{list_id}/feedback", use: feedback)
    }

    @Sendable func lists(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let rows = try await gateway.hashLists(for: principal).map {
            [
                "id": $0.id.rawValue, "name": $0.name,
                "audience": $0.audience.rawValue.replacingOccurrences(
                    of: "_", with: " "),
                "hash_types": $0.hashTypes.map(\.rawValue).joined(separator: ", "),
                "updated": TimeView($0.updatedAt),
            ] as [String: Any]
        }
        return try pages.page("lists", title: "Lists", ["lists": rows, "any": !rows.isEmpty], context: context)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let (list, versions) = try await gateway.hashListVersions(try context.listID(), for: principal)
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
        let content: [String: Any] = [
            "id": list.id.rawValue, "name": list.name, "staff": principal.isStaff, "versions": shown,
            "any": !shown.isEmpty,
        ]
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
        _ = try await gateway.publishHashList(id)
        return ConsolePages.redirect("/console/lists/\(id)?done=published")
    }

    @Sendable func feedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        let form = try context.consoleForm()
        guard let entry = HashEntryID.parse(form["entry_id"] ?? "") else {
            throw GatewayError.invalid(ValidationError([FieldError(name: "entry_id", reason: "is not an entry id")]))
        }
        _ = try await gateway.submitFeedback(
            id, entry, verdict: form["verdict"], comment: form["comment"], by: principal)
        return ConsolePages.redirect("/console/lists/\(id)?done=feedback")
    }

    static func size(_ bytes: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)
    }
}
