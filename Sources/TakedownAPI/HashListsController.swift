import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/hash-lists`: admins define lists and grants, staff curate entries and review feedback, partners
/// see the lists granted to them and report on entries.
struct HashListsController {
    let hashListDesk: HashListDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("hash-lists", use: create)
        group.get("hash-lists", use: list)
        group.get("hash-lists/{list_id}", use: show)
        group.patch("hash-lists/{list_id}", use: update)
        group.post("hash-lists/{list_id}/entries", use: addEntries)
        group.get("hash-lists/{list_id}/entries/{entry_id}", use: showEntry)
        group.patch("hash-lists/{list_id}/entries/{entry_id}", use: reclassify)
        group.delete("hash-lists/{list_id}/entries/{entry_id}", use: deleteEntry)
        group.post("hash-lists/{list_id}/entries/{entry_id}/feedback", use: submitFeedback)
        group.get("hash-lists/{list_id}/feedback", use: listFeedback)
        group.post("hash-lists/{list_id}/feedback/{feedback_id}/resolve", use: resolveFeedback)
    }

    /// A list as the caller may see it: grants are for staff only.
    struct ListView: Encodable {
        var id: HashListID
        var name: String
        var kind: HashListKind
        var audience: HashListAudience
        var hashTypes: [HashType]
        var include: HashListInclusion
        var partners: [PartnerID]?
        var createdAt: Date
        var updatedAt: Date
        var lastSeq: Int64
        var entryCount: Int
        var latestVersion: Int?
        var tombstoneRetentionDays: Int
        var minPollSeconds: Int

        init(_ list: HashList, for principal: Principal, settings: HashListSettings) {
            id = list.id
            name = list.name
            kind = list.kind
            audience = list.audience
            hashTypes = list.hashTypes
            include = list.include
            partners = principal.isStaff ? list.partners : nil
            createdAt = list.createdAt
            updatedAt = list.updatedAt
            lastSeq = list.lastSeq
            entryCount = list.entryCount
            latestVersion = list.latestVersion
            tombstoneRetentionDays = settings.tombstoneRetentionDays
            minPollSeconds = settings.minPollSeconds
        }
    }

    /// An entry for staff, with the case it came from.
    struct EntryView: Encodable {
        var id: HashEntryID
        var listId: HashListID
        var number: Int64
        var status: String
        var mediaType: TakedownModel.MediaType
        var hashes: Hashes
        /// The URL of a URL list's entry.
        var url: String?
        var classification: Category
        var caseId: CaseID?
        var createdAt: Date
        var updatedAt: Date
        var deletedAt: Date?
        var deletionReason: DeletionReason?
        var seq: Int64
        /// Where an imported entry came from.
        var origin: EntryOrigin?

        init(_ entry: HashListEntry) {
            id = entry.id
            listId = entry.listId
            number = entry.number
            status = entry.isLive ? "live" : "deleted"
            mediaType = entry.mediaType
            hashes = entry.hashes
            url = entry.url
            classification = entry.classification
            caseId = entry.caseId
            createdAt = entry.createdAt
            updatedAt = entry.updatedAt
            deletedAt = entry.deletedAt
            deletionReason = entry.deletionReason
            seq = entry.seq
            origin = entry.origin
        }
    }

    struct Listing: Encodable {
        var hashLists: [ListView]
        var nextCursor: String
    }
    struct EntriesRequest: Decodable { var entries: [HashEntryInput]? }
    struct EntriesAdded: Encodable { var entries: [EntryView] }
    struct ReclassifyRequest: Decodable { var classification: CaseSubmission.CategoryInput? }
    struct FeedbackRequest: Decodable {
        var verdict: String?
        var comment: String?
    }
    struct ResolveRequest: Decodable {
        var action: String?
        var reason: String?
        var note: String?
    }
    struct FeedbackListing: Encodable {
        var feedback: [HashListFeedback]
        var nextCursor: String
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.admin()
        let body = try await JSONBody<HashListInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let list = try await hashListDesk.createHashList(body.value)
        return try .json(view(list, principal), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let page = try request.page(of: try await hashListDesk.hashLists(for: principal))
        return try .json(Listing(hashLists: page.items.map { view($0, principal) }, nextCursor: page.nextCursor))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        return try .json(view(try await hashListDesk.hashList(try context.listID(), for: principal), principal))
    }

    @Sendable func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.admin()
        let body = try await JSONBody<HashListInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        return try .json(view(try await hashListDesk.updateHashList(try context.listID(), with: body.value), principal))
    }

    @Sendable func addEntries(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.listID()
        let body = try await JSONBody<EntriesRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        guard let inputs = body.entries else {
            throw GatewayError.invalid(ValidationError([FieldError(name: "entries", reason: "is required")]))
        }
        let entries = try await hashListDesk.addHashListEntries(id, inputs)
        return try .json(EntriesAdded(entries: entries.map(EntryView.init)), status: .created)
    }

    @Sendable func showEntry(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try .json(EntryView(try await hashListDesk.hashListEntry(try context.listID(), try context.entryID())))
    }

    @Sendable func reclassify(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let body = try await JSONBody<ReclassifyRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        let entry = try await hashListDesk.reclassifyHashListEntry(
            try context.listID(), try context.entryID(), body.classification)
        return try .json(EntryView(entry))
    }

    /// `DELETE …?reason=false_positive|out_of_scope|duplicate|legal`.
    @Sendable func deleteEntry(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let entry = try await hashListDesk.deleteHashListEntry(
            try context.listID(), try context.entryID(), reason: request.query("reason"))
        return try .json(EntryView(entry))
    }

    @Sendable func submitFeedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.listID()
        let entry = try context.entryID()
        let body = try await JSONBody<FeedbackRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        let feedback = try await hashListDesk.submitFeedback(
            id, entry, verdict: body.verdict, comment: body.comment, by: principal)
        return try .json(feedback, status: .created)
    }

    /// `?status=open|kept|deleted|all` (default open), paged by `after` and `limit`; a partner sees only
    /// its own.
    @Sendable func listFeedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let limit = try request.limit(default: 100, max: 1_000)
        let page = try await hashListDesk.feedback(
            try context.listID(), status: request.query("status") ?? "open", after: request.query("after"),
            limit: limit, for: principal)
        return try .json(FeedbackListing(feedback: page.feedback, nextCursor: page.nextCursor))
    }

    @Sendable func resolveFeedback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let feedback = try context.parameters.id("feedback_id", as: FeedbackID.self)
        let body = try await JSONBody<ResolveRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        return try .json(
            try await hashListDesk.resolveFeedback(
                try context.listID(), feedback, action: body.action, reason: body.reason, note: body.note,
                by: principal))
    }

    func view(_ list: HashList, _ principal: Principal) -> ListView {
        ListView(list, for: principal, settings: hashListDesk.settings)
    }
}

extension GatewayRequestContext {
    /// The `{list_id}` of the path; a malformed one is simply not found.
    func listID() throws -> HashListID { try parameters.id("list_id", as: HashListID.self) }

    func entryID() throws -> HashEntryID { try parameters.id("entry_id", as: HashEntryID.self) }

    func sourceID() throws -> SourceID { try parameters.id("source_id", as: SourceID.self) }
}
