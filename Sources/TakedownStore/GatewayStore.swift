import Foundation
import TakedownModel

/// Everything the gateway keeps. Each store (SQLite, PostgreSQL) implements the whole contract and
/// passes the one conformance suite in `TakedownTestSupport`.
public protocol GatewayStore: TokenStore, PartnerStore, PartnerStatusStore, CaseStore, NoticeStore, DeliveryStore,
    ClockStore, HashListStore, HashListSourceStore, AuditStore, ASNStore, ReferralStore, ConsoleSessionStore,
    NoticeBoardStore, PoliceHoldStore, SigningKeyStore, TransparencyLogStore
{
    /// Creates or upgrades the schema; safe to run at every start.
    func migrate() async throws
    /// Whether the database answers a trivial query.
    func ping() async throws
}

/// Partners and their routing rules.
public protocol PartnerStore: Sendable {
    /// Inserts a partner, its first token and, when it has a webhook, its first signing secret, in one
    /// transaction.
    /// `check` runs inside the write transaction, after concurrent writers of partners, with every stored
    /// partner; it throws to refuse the write, so a rule over all partners holds under concurrency.
    func insertPartner(
        _ partner: Partner, token: TokenRecord, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws
    func partner(_ id: PartnerID) async throws -> Partner?
    func partners() async throws -> [Partner]
    /// Replaces a partner's fields and, when given, starts signing its webhooks with a new secret only
    /// (earlier secrets stop at once: the endpoint changed). Its deliveries not yet done follow a change of
    /// its channels in the same transaction (`ChannelChange`: moved, or cancelled with the reason). Throws
    /// `notFound` when it does not exist.
    func updatePartner(
        _ partner: Partner, webhookSecret: String?, check: @Sendable ([Partner]) throws -> Void
    ) async throws
}

extension PartnerStore {
    public func insertPartner(_ partner: Partner, token: TokenRecord, webhookSecret: String?) async throws {
        try await insertPartner(partner, token: token, webhookSecret: webhookSecret, check: { _ in })
    }

    public func updatePartner(_ partner: Partner, webhookSecret: String?) async throws {
        try await updatePartner(partner, webhookSecret: webhookSecret, check: { _ in })
    }
}

/// Cases and their items.
public protocol CaseStore: Sendable {
    /// Writes a case, its notices (with their first timeline events), their outbox deliveries and, when
    /// given, the idempotency record of the request, in one transaction. When the idempotency key was used
    /// before, nothing is written and the stored response comes back instead.
    func insertCase(
        _ record: Case, notices: [Notice], deliveries: [Delivery], idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord?
    func caseRecord(_ id: CaseID) async throws -> Case?
    func cases(_ query: CaseQuery) async throws -> [CasePage.Entry]
    /// Issues a notice (and its deliveries) for items of a case that had none, in one transaction;
    /// throws `conflict` when one of them was routed meanwhile.
    func routeItems(of caseID: CaseID, urls: [String], notice: Notice, deliveries: [Delivery]) async throws -> Notice
    /// A stored answer to an earlier request with this key from this caller.
    func idempotencyRecord(scope: String, key: String) async throws -> IdempotencyRecord?
}

/// Notices, their item states and timelines.
public protocol NoticeStore: Sendable {
    func notice(_ id: NoticeID) async throws -> Notice?
    /// Notices in issue order after a position, optionally only one partner's, narrowed by `filter`.
    func notices(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter) async throws -> [Notice]
    /// The same page as `notices`, but only what a poll needs to see what changed: no items, document,
    /// signature or timeline are read.
    func noticeStates(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter) async throws
        -> [NoticeState]
    /// Notices of one SLA policy still climbing the escalation ladder whose next step is due: a notice at
    /// step i issued at or before `now - offsets[i]`. Oldest first.
    func dueLadderSteps(policy: SLAPolicyID, offsets: [TimeInterval], now: Date, limit: Int) async throws
        -> [NoticeID]
    /// The clocks of notices issued in [from, to) (either end open), optionally of one partner, in issue
    /// order: what the removal figures are computed from.
    func removalRows(issuedFrom: Date?, issuedTo: Date?, partner: PartnerID?) async throws -> [RemovalRow]
    /// Removal figures computed by the database (see `RemovalFigureQueries`), one per group, by key.
    func removalFigures(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [RemovalGroupFigures]
    /// How many notices of each group (by its key) are in each status, withdrawn ones included.
    func noticeStatusCounts(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [String: [NoticeStatus: Int]]
    /// Reads, changes and writes back notices in one transaction. The closure returns whether it changed
    /// the notice; new timeline events are appended, and `outbox` names the deliveries each changed notice
    /// sends (a withdrawal, say), written in the same transaction. Missing ids are skipped.
    ///
    /// Without `documents` the notices are read without their stored document and signature (empty in
    /// what the closure sees and what is returned; the stored ones stay as they are): a provider's answers
    /// never need them, and reading a thousand of them cost a bulk answer a tenth of its time.
    func updateNotices(
        _ ids: [NoticeID], documents: Bool, outbox: @Sendable (Notice) throws -> [Delivery],
        _ change: @Sendable (inout Notice) throws -> Bool
    ) async throws -> [Notice]
}

/// Narrows a notice listing.
/// A notice as a lean poll sees it: its id, place, state and clock.
public struct NoticeState: Sendable, Equatable {
    public var id: NoticeID
    public var position: Int64
    public var status: NoticeStatus
    public var sequence: Int
    public var issuedAt: Date
    public var deadlineAt: Date

    public init(id: NoticeID, position: Int64, status: NoticeStatus, sequence: Int, issuedAt: Date, deadlineAt: Date) {
        self.id = id
        self.position = position
        self.status = status
        self.sequence = sequence
        self.issuedAt = issuedAt
        self.deadlineAt = deadlineAt
    }

    public init(_ notice: Notice) {
        self.init(
            id: notice.id, position: notice.position, status: notice.status, sequence: notice.sequence,
            issuedAt: notice.issuedAt, deadlineAt: notice.deadlineAt)
    }
}

public struct NoticeFilter: Sendable, Equatable {
    /// Only these statuses; nil for all.
    public var statuses: Set<NoticeStatus>?
    /// Only notices whose deadline is before this time (overdue ones, given now).
    public var deadlineBefore: Date?

    public init(statuses: Set<NoticeStatus>? = nil, deadlineBefore: Date? = nil) {
        self.statuses = statuses
        self.deadlineBefore = deadlineBefore
    }
}

extension NoticeStore {
    /// Every notice after a position, optionally only one partner's.
    public func notices(after position: Int64, limit: Int, partner: PartnerID?) async throws -> [Notice] {
        try await notices(after: position, limit: limit, partner: partner, filter: NoticeFilter())
    }

    /// `updateNotices` reading whole notices.
    public func updateNotices(
        _ ids: [NoticeID], outbox: @Sendable (Notice) throws -> [Delivery],
        _ change: @Sendable (inout Notice) throws -> Bool
    ) async throws -> [Notice] {
        try await updateNotices(ids, documents: true, outbox: outbox, change)
    }

    /// `updateNotices` for changes that send nothing.
    public func updateNotices(
        _ ids: [NoticeID], _ change: @Sendable (inout Notice) throws -> Bool
    ) async throws -> [Notice] {
        try await updateNotices(ids, documents: true, outbox: { _ in [] }, change)
    }
}

/// The first answer to a request that carried an `Idempotency-Key`.
public struct IdempotencyRecord: Sendable, Equatable {
    public var scope: String
    public var key: String
    /// SHA-256 of the request body, so a reused key with another body is refused.
    public var requestHash: String
    public var status: Int
    public var body: Data
    public var createdAt: Date

    public init(scope: String, key: String, requestHash: String, status: Int, body: Data, createdAt: Date) {
        self.scope = scope
        self.key = key
        self.requestHash = requestHash
        self.status = status
        self.body = body
        self.createdAt = createdAt
    }
}

/// Filters and page of `GET /v1/cases`.
public struct CaseQuery: Sendable, Equatable {
    public var after: Int64
    public var limit: Int
    public var reference: String?
    public var createdFrom: Date?
    public var createdTo: Date?
    /// Only cases with at least one item no notice carries.
    public var unroutedOnly: Bool

    public init(
        after: Int64 = 0, limit: Int = 50, reference: String? = nil, createdFrom: Date? = nil,
        createdTo: Date? = nil, unroutedOnly: Bool = false
    ) {
        self.after = after
        self.limit = limit
        self.reference = reference
        self.createdFrom = createdFrom
        self.createdTo = createdTo
        self.unroutedOnly = unroutedOnly
    }
}

public enum CasePage {
    /// A case and its position in submission order (the page cursor).
    public struct Entry: Sendable, Equatable {
        public var position: Int64
        public var record: Case

        public init(position: Int64, record: Case) {
            self.position = position
            self.record = record
        }
    }
}
