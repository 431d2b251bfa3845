import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func notice(_ id: NoticeID) async throws -> Notice? {
        try await Self.notices(from: try await rows("SELECT * FROM notices WHERE id = \(id.rawValue)"), self).first
    }

    public func notices(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter) async throws
        -> [Notice]
    {
        let sql = Self.page("*", after: position, limit: limit, partner: partner, filter: filter)
        return try await Self.notices(from: try await rows(sql.query), self)
    }

    public func noticeStates(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter)
        async throws -> [NoticeState]
    {
        let found: [PostgresRandomAccessRow]
        if let partner, filter == NoticeFilter() {
            // A provider's poll, the request providers send most: prepared, planned once per connection.
            found = try await guarded {
                try await client.execute(LeanPoll(after: position, partner: partner, limit: limit), logger: logger)
                    .reduce(into: []) { $0.append($1) }
            }
        } else {
            found = try await rows(
                Self.page(Self.stateColumns, after: position, limit: limit, partner: partner, filter: filter).query)
        }
        return try found.map { row in
            NoticeState(
                id: NoticeID(rawValue: try row.get("id")), position: try row.get("position"),
                status: NoticeStatus(rawValue: try row.get("status")) ?? .issued,
                sequence: try row.get("sequence"), issuedAt: try row.date("issued_at"),
                deadlineAt: try row.date("deadline_at"))
        }
    }

    static let stateColumns = "id, position, status, sequence, issued_at, deadline_at"

    /// One partner's lean page with no other filter, as a prepared statement. Its text is the shared listing's
    /// (placeholders in the order: after, partner, limit), so the two cannot drift apart.
    struct LeanPoll: PostgresPreparedStatement {
        static let name = "takedown_lean_poll_v1"
        static let sql = NoticeFilter().listing(
            stateColumns, from: "notices", after: 0, limit: 1, partner: PartnerID(rawValue: "")
        ).sql(.postgres).0
        typealias Row = PostgresRandomAccessRow
        let after: Int64
        let partner: PartnerID
        let limit: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(after)
            bindings.append(partner.rawValue)
            bindings.append(Int64(limit))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> PostgresRandomAccessRow { row.makeRandomAccess() }
    }

    /// One page of notices in issue order, of the columns given.
    static func page(_ columns: String, after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter)
        -> Listing
    {
        filter.listing(columns, from: "notices", after: position, limit: limit, partner: partner)
    }

    public func removalRows(issuedFrom: Date?, issuedTo: Date?, partner: PartnerID?) async throws -> [RemovalRow] {
        let listing = RemovalFigureQueries.removalRows(
            .init(issuedFrom: issuedFrom, issuedTo: issuedTo, partner: partner))
        return try await rows(listing.query).map { row in
            RemovalRow(
                noticeId: NoticeID(rawValue: try row.get("id")),
                partnerId: PartnerID(rawValue: try row.get("partner_id")),
                partnerName: try row.get("name"), jurisdiction: try row.get("jurisdiction"),
                status: NoticeStatus(rawValue: try row.get("status")) ?? .issued, issuedAt: try row.date("issued_at"),
                deadlineAt: try row.date("deadline_at"), acknowledgedAt: try row.optionalDate("acknowledged_at"),
                removedAt: try row.optionalDate("removed_at"), verifiedAt: try row.optionalDate("verified_at"))
        }
    }

    public func updateNotices(
        _ ids: [NoticeID], documents: Bool, outbox: @Sendable (Notice) throws -> [Delivery],
        _ change: @Sendable (inout Notice) throws -> Bool
    ) async throws -> [Notice] {
        guard !ids.isEmpty else { return [] }
        let columns = documents ? "*" : Self.leanColumns
        return try await transaction { transaction in
            // FOR UPDATE: two instances changing one notice apply their changes one after the other.
            var sql = SQL("SELECT \(columns) FROM notices WHERE id = ANY(")
            sql.bind(ids.map(\.rawValue))
            sql.append(") ORDER BY position FOR UPDATE")
            let rows = try await transaction.rows(sql.query)
            var result: [Notice] = []
            for var notice in try await Self.notices(from: rows, transaction) {
                let known = notice.timeline.count
                let items = notice.items
                if try change(&notice) {
                    try await Self.write(notice, knownEvents: known, itemsChanged: notice.items != items, transaction)
                    try await Self.insert(try outbox(notice), transaction)
                }
                result.append(notice)
            }
            return result
        }
    }

    /// Every column a notice is read from, with an empty document and signature in place of the stored ones.
    static let leanColumns = """
        position, id, case_id, partner_id, status, issued_at, deadline_at, acknowledged_at, removed_at, items,
        ''::bytea AS document, '' AS jws, sequence, ladder_step, sla_policy_id, verified_at, verify_due_at, clock_from
        """

    /// Writes back a notice's changing columns and the timeline events after the first `knownEvents`, and
    /// moves its URLs on the URL lists when the write may (`checked`: after a round of verification checks).
    /// Items are encoded only when they changed (`itemsChanged`): an acknowledgement leaves them as they are.
    static func write(
        _ notice: Notice, knownEvents known: Int, itemsChanged: Bool = true, checked: Bool = false,
        _ transaction: Transaction
    ) async throws {
        let items = itemsChanged ? try StoredJSON.encode(notice.items) : nil
        try await transaction.run(
            """
            UPDATE notices SET status = \(notice.status.rawValue),
                   acknowledged_at = \(notice.acknowledgedAt?.stored), removed_at = \(notice.removedAt?.stored),
                   verified_at = \(notice.verifiedAt?.stored), items = COALESCE(\(items), items),
                   sequence = \(notice.sequence), ladder_step = \(notice.ladderStep),
                   verify_due_at = \(notice.verifyDueAt?.stored), deadline_at = \(notice.deadlineAt.stored),
                   clock_from = \(notice.clockFrom?.stored)
            WHERE id = \(notice.id.rawValue)
            """)
        for event in notice.timeline.dropFirst(known) { try await insert(event, for: notice.id, transaction) }
        if notice.movesURLLists(checked: checked) { try await standURLs(of: notice, transaction) }
    }

    public func dueLadderSteps(policy: SLAPolicyID, offsets: [TimeInterval], now: Date, limit: Int) async throws
        -> [NoticeID]
    {
        guard !offsets.isEmpty else { return [] }
        var sql = SQL(
            "SELECT id FROM notices WHERE status IN ('issued', 'delivered', 'acknowledged') AND sla_policy_id = ")
        sql.bind(policy.rawValue)
        sql.append(" AND (false")
        for (index, offset) in offsets.enumerated() {
            sql.append(" OR (ladder_step = ")
            sql.bind(index)
            // The clock runs from issue, or from the decision that restarted it (never before issue).
            let due = now.addingTimeInterval(-offset).stored
            sql.append(" AND issued_at <= ")
            sql.bind(due)
            sql.append(" AND (clock_from IS NULL OR clock_from <= ")
            sql.bind(due)
            sql.append("))")
        }
        sql.append(") ORDER BY issued_at, position LIMIT ")
        sql.bind(limit)
        return try await rows(sql.query).map { NoticeID(rawValue: try $0.get("id")) }
    }

    /// Inserts a notice, with its timeline, still without a position (`assignPositions` gives it one).
    static func insert(_ notice: Notice, items: String, _ transaction: Transaction) async throws {
        try await insert(notices: [(notice, items)], transaction)
    }

    /// Notices (items encoded) and their timelines, one multi-row statement per table; numbered from
    /// `firstPosition` on in the order given, or left without a position for `assignPositions`. Their log
    /// entries too, unless the caller `logged` them already.
    static func insert(
        notices: [(Notice, String)], firstPosition: Int64? = nil, logged: Bool = false, _ transaction: Transaction
    ) async throws {
        try await transaction.insertRows(
            """
            INSERT INTO notices (id, case_id, partner_id, status, issued_at, deadline_at, acknowledged_at,
                                 removed_at, verified_at, items, document, jws, sequence, ladder_step, sla_policy_id,
                                 verify_due_at, position)
            """, Array(notices.enumerated()), columns: 17
        ) { index, row in
            let (notice, items) = row
            return [
                .v(notice.id.rawValue), .v(notice.caseId.rawValue), .v(notice.partnerId.rawValue),
                .v(notice.status.rawValue), .v(notice.issuedAt.stored), .v(notice.deadlineAt.stored),
                .v(notice.acknowledgedAt?.stored), .v(notice.removedAt?.stored), .v(notice.verifiedAt?.stored),
                .v(items), .v(notice.document), .v(notice.jws), .v(notice.sequence), .v(notice.ladderStep),
                .v(notice.slaPolicyId.rawValue), .v(notice.verifyDueAt?.stored),
                .v(firstPosition.map { $0 + Int64(index) }),
            ]
        }
        let events = notices.flatMap { notice, _ in notice.timeline.map { (notice.id, $0) } }
        try await transaction.insertRows(
            "INSERT INTO notice_events (notice_id, at, event, actor, detail)", events, columns: 5
        ) { id, event in
            [.v(id.rawValue), .v(event.at.stored), .v(event.event), .v(event.actor), .v(event.detail)]
        }
        if !logged { try await log(logEntries(of: notices.map(\.0)), transaction) }
    }

    /// The log's entries of notices issued: the issue, then each step of the timeline.
    static func logEntries(of notices: [Notice]) -> [LogEntry] {
        notices.map(LogEntry.noticeIssued)
            + notices.flatMap { notice in notice.timeline.map { .noticeEvent($0, of: notice.id) } }
    }

    /// A timeline step and its log entry, in one statement (a round trip fewer for every answer).
    static func insert(_ event: TimelineEvent, for id: NoticeID, _ transaction: Transaction) async throws {
        let entry = LogEntry.noticeEvent(event, of: id)
        try await transaction.run(
            """
            WITH logged AS (INSERT INTO log_entries (subject, body) VALUES (\(entry.subject), \(entry.body)))
            INSERT INTO notice_events (notice_id, at, event, actor, detail)
            VALUES (\(id.rawValue), \(event.at.stored), \(event.event), \(event.actor), \(event.detail))
            """)
    }

    /// Notices from their rows, with every timeline read in one query.
    static func notices(from rows: [PostgresRandomAccessRow], _ source: some RowSource) async throws -> [Notice] {
        guard !rows.isEmpty else { return [] }
        let ids: [String] = try rows.map { try $0.get("id") }
        let events = try await source.rows("SELECT * FROM notice_events WHERE notice_id = ANY(\(ids)) ORDER BY id")
        return try notices(from: rows, events: events)
    }

    static func notices(from rows: [PostgresRandomAccessRow], events: [PostgresRandomAccessRow]) throws -> [Notice] {
        var timelines: [String: [TimelineEvent]] = [:]
        for event in events {
            timelines[try event.get("notice_id"), default: []].append(
                TimelineEvent(
                    at: try event.date("at"), event: try event.get("event"), actor: try event.get("actor"),
                    detail: try event.get("detail")))
        }
        return try rows.map { row in
            let id: String = try row.get("id")
            var notice = Notice(
                id: NoticeID(rawValue: id), position: try row.get("position"),
                caseId: CaseID(rawValue: try row.get("case_id")),
                partnerId: PartnerID(rawValue: try row.get("partner_id")),
                status: NoticeStatus(rawValue: try row.get("status")) ?? .issued, issuedAt: try row.date("issued_at"),
                deadlineAt: try row.date("deadline_at"), acknowledgedAt: try row.optionalDate("acknowledged_at"),
                removedAt: try row.optionalDate("removed_at"),
                items: try StoredJSON.decode([NoticeItem].self, try row.get("items")),
                document: try row.get("document"),
                jws: try row.get("jws"), timeline: timelines[id] ?? [])
            notice.sequence = try row.get("sequence")
            notice.ladderStep = try row.get("ladder_step")
            notice.slaPolicyId = SLAPolicyID(rawValue: try row.get("sla_policy_id"))
            notice.verifiedAt = try row.optionalDate("verified_at")
            notice.verifyDueAt = try row.optionalDate("verify_due_at")
            notice.clockFrom = try row.optionalDate("clock_from")
            return notice
        }
    }
}
