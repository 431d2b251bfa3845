import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// Shares a transaction with the other cases written at the time (`CaseCommits`).
    public func insertCase(
        _ record: Case, notices: [Notice], deliveries: [Delivery], idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord? {
        let encodedNotices = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        return try await caseCommits.write(
            record, notices: encodedNotices, deliveries: deliveries, idempotency: idempotency, through: self)
    }

    /// A case with its notices and deliveries, or (held for the police) with its hold and no notice; once
    /// per idempotency key.
    func insertCase(
        _ record: Case, notices: [Notice], deliveries: [Delivery], hold: PoliceHold?, idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord? {
        try await insertCase(
            record, encodedNotices: try notices.map { ($0, try StoredJSON.encode($0.items)) }, deliveries: deliveries,
            hold: hold, idempotency: idempotency)
    }

    /// The same, alone in its transaction, the notices' items already encoded.
    func insertCase(
        _ record: Case, encodedNotices: [(Notice, String)], deliveries: [Delivery], hold: PoliceHold?,
        idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord? {
        let storedHold = try hold.map { ($0, try StoredJSON.encode($0)) }
        return try await transaction { transaction -> IdempotencyRecord? in
            if let idempotency {
                // Two requests with one key: the second waits here for the first to commit, then finds it.
                try await transaction.run(
                    "SELECT pg_advisory_xact_lock(hashtext(\(idempotency.scope)), hashtext(\(idempotency.key)))")
                if let earlier = try await Self.idempotency(scope: idempotency.scope, key: idempotency.key, transaction)
                {
                    return earlier
                }
            }
            try await Self.writeCase(record, notices: encodedNotices, deliveries: deliveries, transaction)
            if let (hold, stored) = storedHold { try await Self.insert(hold, stored: stored, transaction) }
            if let idempotency { try await Self.insert(idempotency, transaction) }
            return nil
        }
    }

    /// Writes a case, its notices (items encoded) and their deliveries inside the caller's transaction,
    /// taking positions last.
    static func writeCase(
        _ record: Case, notices: [(Notice, String)], deliveries: [Delivery], _ transaction: Transaction
    ) async throws {
        try await writeCases([(record, notices)], deliveries: deliveries, transaction)
    }

    /// Writes cases with their notices and deliveries in a few multi-row statements, one per table whatever
    /// the number of cases, in the order given.
    ///
    /// Positions are reserved before the rows go in, so each row is written once with its position: given
    /// afterwards, every case and notice row was written twice, and each of the notices' eight indexes with
    /// it. Reserving locks the counter row until commit, so positions are still handed out in commit order
    /// (see `assignPositions`); new endpoints first, then the case counter, then the notice counter, in the
    /// order every writer takes them.
    static func writeCases(
        _ cases: [(Case, [(Notice, String)])], deliveries: [Delivery], _ transaction: Transaction
    ) async throws {
        let notices = cases.flatMap(\.1)
        // Before the counters, which stay held to commit: the log's entries need no position, and written
        // here they add nothing to the time other batches wait for the counters.
        try await log(logEntries(of: notices.map(\.0)), transaction)
        try await insertEndpoints(of: deliveries, transaction)
        let casePosition = try await reservePositions("cases", count: cases.count, transaction)
        try await insert(cases.map(\.0), firstPosition: casePosition, transaction)
        let noticePosition = try await reservePositions("notices", count: notices.count, transaction)
        try await insert(notices: notices, firstPosition: noticePosition, logged: true, transaction)
        try await insert(deliveries, endpointsWritten: true, transaction)
        // After the case counter is held: a list being created meanwhile is either committed (and seen
        // here) or waits for these cases to commit (and takes them in).
        try await contribute(cases.map { ($0.0, $0.1.map(\.0)) }, transaction)
    }

    public func caseRecord(_ id: CaseID) async throws -> Case? {
        guard let row = try await rows("SELECT * FROM cases WHERE id = \(id.rawValue)").first else { return nil }
        return try await Self.caseRecords([row], self).first
    }

    public func cases(_ query: CaseQuery) async throws -> [CasePage.Entry] {
        let found = try await rows(query.listing.query)
        let records = try await Self.caseRecords(found, self)
        return try zip(found, records).map { CasePage.Entry(position: try $0.get("position"), record: $1) }
    }

    public func routeItems(of caseID: CaseID, urls: [String], notice: Notice, deliveries: [Delivery]) async throws
        -> Notice
    {
        let items = try StoredJSON.encode(notice.items)
        return try await transaction { transaction in
            for url in urls {
                let routed = try await transaction.count(
                    """
                    UPDATE case_items SET notice_id = \(notice.id.rawValue), unrouted_reason = NULL
                    WHERE case_id = \(caseID.rawValue) AND url = \(url) AND notice_id IS NULL
                    RETURNING 1
                    """)
                if routed != 1 { throw StoreError.conflict("item \(url) is already routed") }
            }
            try await Self.insert(notices: [(notice, items)], transaction)
            try await Self.insert(deliveries, transaction)
            try await Self.enterURLs(of: [notice], caseID: caseID, transaction)
            var stored = notice
            stored.position = try await Self.assignPositions("notices", ids: [notice.id.rawValue], transaction)
            return stored
        }
    }

    public func idempotencyRecord(scope: String, key: String) async throws -> IdempotencyRecord? {
        try await rows("SELECT * FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)").first
            .map(Self.idempotency(from:))
    }

    /// Takes the next `count` positions of the counter `name` (`cases` or `notices`) and returns the first;
    /// the counter row stays locked until this transaction ends, as in `assignPositions`.
    static func reservePositions(_ name: String, count: Int, _ transaction: Transaction) async throws -> Int64 {
        guard count > 0 else { return 0 }
        guard
            let last = try await transaction.rows(
                "UPDATE counters SET value = value + \(count) WHERE name = \(name) RETURNING value"
            ).first?.get("value", as: Int64.self)
        else { throw StoreError.unavailable("counter \(name) is missing") }
        return last - Int64(count) + 1
    }

    /// Gives rows of `table` (`cases` or `notices`, inserted without one) the next positions of the
    /// counter of that name, in the order given; returns the first.
    ///
    /// The counter row stays locked until this transaction ends, so positions are handed out in commit
    /// order: a reader paging by position never sees a later position before an earlier one has committed
    /// (or rolled back, leaving a gap), and so a cursor never skips a row. A sequence would not do this.
    /// Callers do this last in the transaction, to hold the lock briefly.
    static func assignPositions(_ table: String, ids: [String], _ transaction: Transaction) async throws -> Int64 {
        guard !ids.isEmpty else { return 0 }
        var sql = SQL("WITH counter AS (UPDATE counters SET value = value + ")
        sql.bind(ids.count)
        sql.append(" WHERE name = ")
        sql.bind(table)
        sql.append(" RETURNING value) UPDATE \(table) SET position = (SELECT value FROM counter) - ")
        sql.bind(ids.count)
        sql.append(" + t.ord FROM unnest(")
        sql.bind(ids)
        sql.append("::text[]) WITH ORDINALITY AS t(id, ord) WHERE \(table).id = t.id RETURNING \(table).position")
        let positions = try await transaction.rows(sql.query).map { try $0.get("position", as: Int64.self) }
        guard positions.count == ids.count, let first = positions.min() else {
            throw StoreError.unavailable("counter \(table) is missing")
        }
        return first
    }

    /// Cases and their items; the cases numbered from `firstPosition` on, in the order given.
    static func insert(_ records: [Case], firstPosition: Int64, _ transaction: Transaction) async throws {
        try await transaction.insertRows(
            """
            INSERT INTO cases (id, reference, uk_grade, classification, media_type, notes, created_at, created_by,
                               position)
            """, Array(records.enumerated()), columns: 9
        ) { index, record in
            [
                .v(record.id.rawValue), .v(record.reference), .v(record.category.ukGrade.rawValue),
                .v(record.category.classification?.rawValue), .v(record.mediaType.rawValue), .v(record.notes),
                .v(record.createdAt.stored), .v(record.createdBy), .v(firstPosition + Int64(index)),
            ]
        }
        let items = records.flatMap { record in record.items.enumerated().map { (record.id, $0, $1) } }
        // Traces are encoded before the statement: encoding may throw, a row's values may not.
        let traces = try items.map { try $0.2.trace.map(StoredJSON.encode) }
        try await transaction.insertRows(
            """
            INSERT INTO case_items (case_id, idx, url, observed_at, ip, md5, sha1, sha256, pdq, pdq_quality,
                                    photodna, notice_id, unrouted_reason, trace)
            """, Array(zip(items, traces)), columns: 14
        ) { row in
            let ((caseID, index, item), trace) = row
            let h = item.hashes
            return [
                .v(caseID.rawValue), .v(index), .v(item.url), .v(item.observedAt.stored), .v(item.ip), .v(h.md5),
                .v(h.sha1), .v(h.sha256), .v(h.pdq), .v(h.pdqQuality), .v(h.photodna), .v(item.noticeId?.rawValue),
                .v(item.unroutedReason), .v(trace),
            ]
        }
    }

    /// Cases from their rows, with every item read in one query.
    static func caseRecords(_ rows: [PostgresRandomAccessRow], _ source: some RowSource) async throws -> [Case] {
        guard !rows.isEmpty else { return [] }
        let ids: [String] = try rows.map { try $0.get("id") }
        var items: [String: [CaseItem]] = [:]
        for item in try await source.rows("SELECT * FROM case_items WHERE case_id = ANY(\(ids)) ORDER BY case_id, idx")
        {
            items[try item.get("case_id"), default: []].append(
                CaseItem(
                    url: try item.get("url"), observedAt: try item.date("observed_at"), ip: try item.get("ip"),
                    hashes: Hashes(
                        md5: try item.get("md5"), sha1: try item.get("sha1"), sha256: try item.get("sha256"),
                        pdq: try item.get("pdq"), pdqQuality: try item.get("pdq_quality", as: Int?.self),
                        photodna: try item.get("photodna")),
                    noticeId: try item.get("notice_id", as: String?.self).map(NoticeID.init(rawValue:)),
                    unroutedReason: try item.get("unrouted_reason"),
                    trace: try item.get("trace", as: String?.self).map { try StoredJSON.decode(HostingTrace.self, $0) })
            )
        }
        return try rows.map { row in
            let id: String = try row.get("id")
            return Case(
                id: CaseID(rawValue: id), reference: try row.get("reference"),
                category: Category(
                    ukGrade: UKGrade(rawValue: try row.get("uk_grade")) ?? .a,
                    classification: try row.get("classification", as: String?.self)
                        .flatMap(IndustryClassification.init(rawValue:))),
                mediaType: MediaType(rawValue: try row.get("media_type")) ?? .image, notes: try row.get("notes"),
                items: items[id] ?? [], createdAt: try row.date("created_at"), createdBy: try row.get("created_by"))
        }
    }

    static func insert(_ record: IdempotencyRecord, _ transaction: Transaction) async throws {
        try await insert(idempotency: [record], transaction)
    }

    static func insert(idempotency records: [IdempotencyRecord], _ transaction: Transaction) async throws {
        try await transaction.insertRows(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)", records, columns: 6
        ) { record in
            [
                .v(record.scope), .v(record.key), .v(record.requestHash), .v(record.status), .v(record.body),
                .v(record.createdAt.stored),
            ]
        }
    }

    static func idempotency(scope: String, key: String, _ transaction: Transaction) async throws
        -> IdempotencyRecord?
    {
        try await transaction.rows("SELECT * FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)").first
            .map(idempotency(from:))
    }

    static func idempotency(from row: PostgresRandomAccessRow) throws -> IdempotencyRecord {
        IdempotencyRecord(
            scope: try row.get("scope"), key: try row.get("key"), requestHash: try row.get("request_hash"),
            status: try row.get("status"), body: try row.get("body"), createdAt: try row.date("created_at"))
    }
}
