import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func notice(_ id: NoticeID) async throws -> Notice? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM notice_rows WHERE id = ?", arguments: [id.rawValue])
                    .map { try Self.notice(from: $0, db) }
            }
        }
    }

    public func notices(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter) async throws
        -> [Notice]
    {
        let (sql, arguments) = Self.page(
            "*", from: "notice_rows", after: position, limit: limit, partner: partner, filter: filter)
        return try await guarded {
            try await pool.read { db in
                try Self.notices(from: try Row.fetchAll(db, sql: sql, arguments: arguments), db)
            }
        }
    }

    public func noticeStates(after position: Int64, limit: Int, partner: PartnerID?, filter: NoticeFilter)
        async throws -> [NoticeState]
    {
        let (sql, arguments) = Self.page(
            "id, position, status, sequence, issued_at, deadline_at", after: position, limit: limit, partner: partner,
            filter: filter)
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    NoticeState(
                        id: NoticeID(rawValue: row["id"]), position: row["position"],
                        status: NoticeStatus(rawValue: row["status"]) ?? .issued, sequence: row["sequence"],
                        issuedAt: Date(stored: row["issued_at"]), deadlineAt: Date(stored: row["deadline_at"]))
                }
            }
        }
    }

    /// One page of notices in issue order, of the columns given: from `notices`, or from `notice_rows` for
    /// whole notices with their documents.
    static func page(
        _ columns: String, from table: String = "notices", after position: Int64, limit: Int, partner: PartnerID?,
        filter: NoticeFilter
    )
        -> (String, StatementArguments)
    {
        let (sql, values) = filter.listing(columns, from: table, after: position, limit: limit, partner: partner)
            .sql(.sqlite)
        return (sql, StatementArguments(values))
    }

    public func removalRows(issuedFrom: Date?, issuedTo: Date?, partner: PartnerID?) async throws -> [RemovalRow] {
        let listing = RemovalFigureQueries.removalRows(
            .init(issuedFrom: issuedFrom, issuedTo: issuedTo, partner: partner))
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).map { row in
                    RemovalRow(
                        noticeId: NoticeID(rawValue: row["id"]), partnerId: PartnerID(rawValue: row["partner_id"]),
                        partnerName: row["name"], jurisdiction: row["jurisdiction"],
                        status: NoticeStatus(rawValue: row["status"]) ?? .issued,
                        issuedAt: Date(stored: row["issued_at"]),
                        deadlineAt: Date(stored: row["deadline_at"]),
                        acknowledgedAt: (row["acknowledged_at"] as Double?).map(Date.init(stored:)),
                        removedAt: (row["removed_at"] as Double?).map(Date.init(stored:)),
                        verifiedAt: (row["verified_at"] as Double?).map(Date.init(stored:)))
                }
            }
        }
    }

    public func updateNotices(
        _ ids: [NoticeID], documents: Bool, outbox: @Sendable (Notice) throws -> [Delivery],
        _ change: @Sendable (inout Notice) throws -> Bool
    ) async throws -> [Notice] {
        guard !ids.isEmpty else { return [] }
        let (columns, table) = documents ? ("*", "notice_rows") : (Self.leanColumns, "notices")
        return try await guarded {
            try await write { db in
                var result: [Notice] = []
                let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(columns) FROM \(table) WHERE id IN (\(placeholders)) ORDER BY position",
                    arguments: StatementArguments(ids.map(\.rawValue)))
                for var notice in try Self.notices(from: rows, db) {
                    let known = notice.timeline.count
                    let items = notice.items
                    if try change(&notice) {
                        try Self.write(notice, knownEvents: known, itemsChanged: notice.items != items, db)
                        for delivery in try outbox(notice) { try Self.insert(delivery, db) }
                    }
                    result.append(notice)
                }
                return result
            }
        }
    }

    /// Every column a notice is read from, with an empty document and signature in place of the stored ones.
    static let leanColumns = """
        position, id, case_id, partner_id, status, issued_at, deadline_at, acknowledged_at, removed_at, items,
        x'' AS document, '' AS jws, sequence, ladder_step, sla_policy_id, verified_at, verify_due_at, clock_from
        """

    /// Writes back a notice's changing columns and the timeline events after the first `knownEvents`, and
    /// moves its URLs on the URL lists when the write may (`checked`: after a round of verification checks).
    /// Items are encoded only when they changed (`itemsChanged`): an acknowledgement leaves them as they are.
    static func write(
        _ notice: Notice, knownEvents known: Int, itemsChanged: Bool = true, checked: Bool = false, _ db: Database
    ) throws {
        try db.cachedStatement(
            sql: """
                UPDATE notices SET status = ?, acknowledged_at = ?, removed_at = ?, verified_at = ?,
                       items = COALESCE(?, items),
                       sequence = ?, ladder_step = ?, verify_due_at = ?, deadline_at = ?, clock_from = ?
                WHERE id = ?
                """
        ).execute(
            arguments: [
                notice.status.rawValue, notice.acknowledgedAt?.storedValue, notice.removedAt?.storedValue,
                notice.verifiedAt?.storedValue, itemsChanged ? try StoredJSON.encode(notice.items) : nil,
                notice.sequence,
                notice.ladderStep, notice.verifyDueAt?.storedValue, notice.deadlineAt.storedValue,
                notice.clockFrom?.storedValue, notice.id.rawValue,
            ])
        for event in notice.timeline.dropFirst(known) { try insert(event, for: notice.id, db) }
        if notice.movesURLLists(checked: checked) { try standURLs(of: notice, db) }
    }

    /// Inserts a notice and its timeline, returning its position.
    @discardableResult
    static func insert(_ notice: Notice, items: String, _ db: Database) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO notices (id, case_id, partner_id, status, issued_at, deadline_at, acknowledged_at,
                                     removed_at, verified_at, items, sequence, ladder_step, sla_policy_id,
                                     verify_due_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                notice.id.rawValue, notice.caseId.rawValue, notice.partnerId.rawValue, notice.status.rawValue,
                notice.issuedAt.storedValue, notice.deadlineAt.storedValue, notice.acknowledgedAt?.storedValue,
                notice.removedAt?.storedValue, notice.verifiedAt?.storedValue, items,
                notice.sequence, notice.ladderStep, notice.slaPolicyId.rawValue, notice.verifyDueAt?.storedValue,
            ])
        let position = db.lastInsertedRowID
        try insertDocument(notice.document, jws: notice.jws, position: position, db)
        try log(.noticeIssued(notice), db: db)
        for event in notice.timeline { try insert(event, for: notice.id, db) }
        try enterURLs(of: notice, db)
        return position
    }

    static func insert(_ event: TimelineEvent, for id: NoticeID, _ db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT INTO notice_events (notice_id, at, event, actor, detail) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [id.rawValue, event.at.storedValue, event.event, event.actor, event.detail])
        try log(.noticeEvent(event, of: id), db: db)
    }

    static func notice(from row: Row, _ db: Database) throws -> Notice {
        try notices(from: [row], db)[0]
    }

    /// Notices from their rows, with every timeline read in one query.
    static func notices(from rows: [Row], _ db: Database) throws -> [Notice] {
        guard let first = rows.first else { return [] }
        let columns = Columns(first)
        let ids: [String] = rows.map { columns[$0, "id"] }
        var timelines: [String: [TimelineEvent]] = [:]
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        let events = try Row.fetchAll(
            db,
            sql: """
                SELECT notice_id, at, event, actor, detail FROM notice_events
                WHERE notice_id IN (\(placeholders)) ORDER BY id
                """,
            arguments: StatementArguments(ids))
        // The columns are named in the query, so they are read by position.
        for event in events {
            timelines[event[0], default: []].append(
                TimelineEvent(at: Date(stored: event[1]), event: event[2], actor: event[3], detail: event[4]))
        }
        return try zip(rows, ids).map { row, id in
            try notice(from: row, columns, timeline: timelines[id] ?? [])
        }
    }

    static func notice(from row: Row, _ columns: Columns, timeline: [TimelineEvent]) throws -> Notice {
        var notice = Notice(
            id: NoticeID(rawValue: columns[row, "id"]), position: columns[row, "position"],
            caseId: CaseID(rawValue: columns[row, "case_id"]),
            partnerId: PartnerID(rawValue: columns[row, "partner_id"]),
            status: NoticeStatus(rawValue: columns[row, "status"]) ?? .issued,
            issuedAt: Date(stored: columns[row, "issued_at"]), deadlineAt: Date(stored: columns[row, "deadline_at"]),
            acknowledgedAt: (columns[row, "acknowledged_at"] as Double?).map(Date.init(stored:)),
            removedAt: (columns[row, "removed_at"] as Double?).map(Date.init(stored:)),
            items: try StoredJSON.decode([NoticeItem].self, columns[row, "items"]), document: columns[row, "document"],
            jws: columns[row, "jws"], timeline: timeline)
        notice.sequence = columns[row, "sequence"]
        notice.ladderStep = columns[row, "ladder_step"]
        notice.slaPolicyId = SLAPolicyID(rawValue: columns[row, "sla_policy_id"])
        notice.verifiedAt = (columns[row, "verified_at"] as Double?).map(Date.init(stored:))
        notice.verifyDueAt = (columns[row, "verify_due_at"] as Double?).map(Date.init(stored:))
        notice.clockFrom = (columns[row, "clock_from"] as Double?).map(Date.init(stored:))
        return notice
    }

    /// The positions of a result's columns, found once for all its rows: GRDB's lookup by name folds the
    /// case of every name on every call, which a page of notices pays some twenty times a row.
    struct Columns {
        private let positions: [String: Int]

        init(_ row: Row) {
            positions = Dictionary(
                row.columnNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }

        subscript<Value: DatabaseValueConvertible>(_ row: Row, _ name: String) -> Value {
            positions[name].map { row[$0] } ?? row[name]
        }
    }

    public func dueLadderSteps(policy: SLAPolicyID, offsets: [TimeInterval], now: Date, limit: Int) async throws
        -> [NoticeID]
    {
        guard !offsets.isEmpty else { return [] }
        // The clock runs from issue, or from the decision that restarted it (never before issue).
        let branches = offsets.indices.map { _ in
            "(ladder_step = ? AND issued_at <= ? AND (clock_from IS NULL OR clock_from <= ?))"
        }.joined(separator: " OR ")
        var values: [(any DatabaseValueConvertible)?] = [policy.rawValue]
        for (index, offset) in offsets.enumerated() {
            let due = now.addingTimeInterval(-offset).storedValue
            values += [index, due, due]
        }
        values.append(limit)
        let sql = """
            SELECT id FROM notices
            WHERE status IN ('issued', 'delivered', 'acknowledged') AND sla_policy_id = ? AND (\(branches))
            ORDER BY issued_at, position LIMIT ?
            """
        let arguments = StatementArguments(values)
        return try await guarded {
            try await pool.read { db in
                try String.fetchAll(db, sql: sql, arguments: arguments).map(NoticeID.init(rawValue:))
            }
        }
    }
}
