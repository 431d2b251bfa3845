import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/hash-lists/{list_id}/sources`: partners' lists that one of ours takes in over NCMEC's hash-sharing
/// API (NCMEC itself, or another gateway's list). Admins add sources; staff follow them and ask for a pull.
struct HashListSourcesController {
    let hashListDesk: HashListDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("hash-lists/{list_id}/sources", use: create)
        group.get("hash-lists/{list_id}/sources", use: list)
        group.get("hash-lists/{list_id}/sources/{source_id}", use: show)
        group.post("hash-lists/{list_id}/sources/{source_id}/pull", use: pull)
    }

    /// A source as staff see it: never its password.
    struct SourceView: Encodable {
        var id: SourceID
        var listId: HashListID
        var name: String
        var baseUrl: String
        var username: String
        var ukGrade: UKGrade
        var intervalSeconds: Int
        var overlapSeconds: Int
        var createdAt: Date
        /// `due` (a pull is waiting), `reading` (a window is part read), `failing` (the last page was
        /// refused) or `synced`.
        var status: String
        var syncedThrough: Date?
        var window: SourceWindow?
        var nextPullAt: Date
        var lastPullAt: Date?
        var lastSuccessAt: Date?
        var lastError: String?
        var lastErrorAt: Date?
        var counts: SourceCounts

        init(_ source: HashListSource, now: Date) {
            id = source.id
            listId = source.listId
            name = source.name
            baseUrl = source.baseURL
            username = source.username
            ukGrade = source.ukGrade
            intervalSeconds = source.intervalSeconds
            overlapSeconds = source.overlapSeconds
            createdAt = source.createdAt
            let state = source.state
            status =
                state.lastError != nil
                ? "failing" : state.window != nil ? "reading" : state.nextPullAt <= now ? "due" : "synced"
            syncedThrough = state.syncedThrough
            window = state.window
            nextPullAt = state.nextPullAt
            lastPullAt = state.lastPullAt
            lastSuccessAt = state.lastSuccessAt
            lastError = state.lastError
            lastErrorAt = state.lastErrorAt
            counts = state.counts
        }
    }

    struct Listing: Encodable {
        var sources: [SourceView]
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<HashListSourceInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let source = try await hashListDesk.createHashListSource(try context.listID(), body.value)
        return try .json(SourceView(source, now: hashListDesk.now()), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let now = hashListDesk.now()
        let sources = try await hashListDesk.hashListSources(try context.listID())
        return try .json(Listing(sources: sources.map { SourceView($0, now: now) }))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let source = try await hashListDesk.hashListSource(try context.listID(), try context.sourceID())
        return try .json(SourceView(source, now: hashListDesk.now()))
    }

    /// 202: the pull is queued; follow it with `GET …/sources/{source_id}`.
    @Sendable func pull(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let source = try await hashListDesk.requestHashListSourcePull(try context.listID(), try context.sourceID())
        return try .json(SourceView(source, now: hashListDesk.now()), status: .accepted)
    }
}
