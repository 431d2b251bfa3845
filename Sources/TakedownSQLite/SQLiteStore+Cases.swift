import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertCase(
        _ record: Case, notices: [Notice], deliveries: [Delivery], idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord? {
        try await insertCase(record, notices: notices, deliveries: deliveries, hold: nil, idempotency: idempotency)
    }

    /// A case with its notices and deliveries, or (held for the police) with its hold and no notice; once
    /// per idempotency key.
    func insertCase(
        _ record: Case, notices: [Notice], deliveries: [Delivery], hold: PoliceHold?, idempotency: IdempotencyRecord?
    ) async throws -> IdempotencyRecord? {
        let encodedNotices = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        let storedHold = try hold.map { ($0, try StoredJSON.encode($0)) }
        return try await guarded {
            try await groupWrite { db -> IdempotencyRecord? in
                if let idempotency,
                    let earlier = try Self.idempotency(scope: idempotency.scope, key: idempotency.key, db)
                {
                    return earlier
                }
                try Self.writeCase(record, notices: encodedNotices, deliveries: deliveries, db)
                if let (hold, stored) = storedHold { try Self.insert(hold, stored: stored, db) }
                if let idempotency { try Self.insert(idempotency, db) }
                return nil
            }
        }
    }

    /// Writes a case, its notices (items encoded) and their deliveries inside the caller's transaction.
    static func writeCase(
        _ record: Case, notices: [(Notice, String)], deliveries: [Delivery], _ db: Database
    ) throws {
        try insert(record, db)
        try contribute(record, db)
        for (notice, items) in notices { try insert(notice, items: items, db) }
        for delivery in deliveries { try insert(delivery, db) }
    }

    public func caseRecord(_ id: CaseID) async throws -> Case? {
        try await guarded {
            try await pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM cases WHERE id = ?", arguments: [id.rawValue])
                else { return nil }
                return try Self.caseRecord(from: row, db)
            }
        }
    }

    public func cases(_ query: CaseQuery) async throws -> [CasePage.Entry] {
        let listing = query.listing
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).map { row in
                    CasePage.Entry(position: row["position"], record: try Self.caseRecord(from: row, db))
                }
            }
        }
    }

    public func routeItems(of caseID: CaseID, urls: [String], notice: Notice, deliveries: [Delivery]) async throws
        -> Notice
    {
        let items = try StoredJSON.encode(notice.items)
        return try await guarded {
            try await write { db in
                for url in urls {
                    try db.execute(
                        sql:
                            "UPDATE case_items SET notice_id = ?, unrouted_reason = NULL WHERE case_id = ? AND url = ? AND notice_id IS NULL",
                        arguments: [notice.id.rawValue, caseID.rawValue, url])
                    if db.changesCount != 1 { throw StoreError.conflict("item \(url) is already routed") }
                }
                var stored = notice
                stored.position = try Self.insert(notice, items: items, db)
                for delivery in deliveries { try Self.insert(delivery, db) }
                return stored
            }
        }
    }

    public func idempotencyRecord(scope: String, key: String) async throws -> IdempotencyRecord? {
        try await guarded { try await pool.read { db in try Self.idempotency(scope: scope, key: key, db) } }
    }

    static func insert(_ record: Case, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO cases (id, reference, uk_grade, classification, media_type, notes, created_at, created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                record.id.rawValue, record.reference, record.category.ukGrade.rawValue,
                record.category.classification?.rawValue, record.mediaType.rawValue, record.notes,
                record.createdAt.storedValue, record.createdBy,
            ])
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO case_items (case_id, idx, url, observed_at, ip, md5, sha1, sha256, pdq, pdq_quality,
                                        photodna, notice_id, unrouted_reason, trace)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (index, item) in record.items.enumerated() {
            let h = item.hashes
            try statement.execute(arguments: [
                record.id.rawValue, index, item.url, item.observedAt.storedValue, item.ip, h.md5, h.sha1, h.sha256,
                h.pdq, h.pdqQuality, h.photodna, item.noticeId?.rawValue, item.unroutedReason,
                try item.trace.map(StoredJSON.encode),
            ])
        }
    }

    static func caseRecord(from row: Row, _ db: Database) throws -> Case {
        let id: String = row["id"]
        let items = try Row.fetchAll(
            db, sql: "SELECT * FROM case_items WHERE case_id = ? ORDER BY idx", arguments: [id]
        ).map { item in
            CaseItem(
                url: item["url"], observedAt: Date(stored: item["observed_at"]), ip: item["ip"],
                hashes: Hashes(
                    md5: item["md5"], sha1: item["sha1"], sha256: item["sha256"], pdq: item["pdq"],
                    pdqQuality: item["pdq_quality"], photodna: item["photodna"]),
                noticeId: (item["notice_id"] as String?).map(NoticeID.init(rawValue:)),
                unroutedReason: item["unrouted_reason"],
                trace: try (item["trace"] as String?).map { try StoredJSON.decode(HostingTrace.self, $0) })
        }
        return Case(
            id: CaseID(rawValue: id), reference: row["reference"],
            category: Category(
                ukGrade: UKGrade(rawValue: row["uk_grade"]) ?? .a,
                classification: (row["classification"] as String?).flatMap(IndustryClassification.init(rawValue:))),
            mediaType: MediaType(rawValue: row["media_type"]) ?? .image, notes: row["notes"], items: items,
            createdAt: Date(stored: row["created_at"]), createdBy: row["created_by"])
    }

    static func insert(_ record: IdempotencyRecord, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                record.scope, record.key, record.requestHash, record.status, record.body, record.createdAt.storedValue,
            ])
    }

    static func idempotency(scope: String, key: String, _ db: Database) throws -> IdempotencyRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?"),
            arguments: [scope, key]
        ).map { row in
            IdempotencyRecord(
                scope: row["scope"], key: row["key"], requestHash: row["request_hash"], status: row["status"],
                body: row["body"], createdAt: Date(stored: row["created_at"]))
        }
    }
}
