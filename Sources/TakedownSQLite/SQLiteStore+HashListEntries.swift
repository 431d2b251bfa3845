import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func hashListEntry(_ list: HashListID, _ entry: HashEntryID) async throws -> HashListEntry? {
        try await guarded { try await pool.read { db in try HashListLog.entry(list, id: entry, db) } }
    }

    public func hashListEntryIDs(_ list: HashListID, hash: String, limit: Int) async throws -> [HashEntryID] {
        try await guarded {
            try await pool.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT entry_id FROM hash_list_changes
                        WHERE list_id = ? AND (md5 = ? OR sha1 = ? OR sha256 = ? OR pdq = ?)
                        GROUP BY entry_id ORDER BY min(seq) LIMIT ?
                        """,
                    arguments: [list.rawValue, hash, hash, hash, hash, limit]
                ).map(HashEntryID.init(rawValue:))
            }
        }
    }

    public func editHashList(_ list: HashListID, _ edits: [HashListEdit], at now: Date) async throws
        -> [HashListEntry]
    {
        try await guarded {
            try await write { db in
                guard
                    let row = try Row.fetchOne(db, sql: Self.listSelect + " WHERE l.id = ?", arguments: [list.rawValue])
                else { throw StoreError.notFound }
                let rules = try Self.hashList(from: row, db)
                var log = try HashListLog(list, db)
                let entries = try edits.map { try log.apply($0, rules: rules, at: now, db) }
                try log.save(db)
                return entries
            }
        }
    }

    public func hashListRecords(_ list: HashListID, after seq: Int64, liveAt: Int64?, limit: Int) async throws
        -> [HashListRecord]
    {
        var sql = "SELECT \(Self.recordColumns) FROM hash_list_changes WHERE list_id = ? AND seq > ?"
        var arguments: StatementArguments = [list.rawValue, seq]
        if let liveAt {
            sql += " AND seq <= ? AND op = 'upsert' AND (superseded_by IS NULL OR superseded_by > ?)"
            _ = arguments.append(contentsOf: [liveAt, liveAt])
        }
        sql += " ORDER BY seq LIMIT ?"
        _ = arguments.append(contentsOf: [limit])
        let (query, bound) = (sql, arguments)
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: query, arguments: bound).map(Self.record(from:))
            }
        }
    }

    public func hashListPageSpan(_ list: HashListID, after seq: Int64, limit: Int) async throws
        -> (count: Int, last: Int64)
    {
        try await guarded {
            try await pool.read { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) AS n, COALESCE(MAX(seq), ?) AS last FROM (
                            SELECT seq FROM hash_list_changes WHERE list_id = ? AND seq > ? ORDER BY seq LIMIT ?)
                        """,
                    arguments: [seq, list.rawValue, seq, limit])!
                return (row["n"], row["last"])
            }
        }
    }

    public func hashListRecords(
        _ list: HashListID, changedIn window: ClosedRange<Date>, after seq: Int64, through last: Int64, limit: Int
    ) async throws -> [HashListRecord] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.windowColumns) FROM hash_list_changes
                        WHERE list_id = ? AND seq > ? AND seq <= ? AND updated_at >= ? AND updated_at <= ?
                        ORDER BY seq LIMIT ?
                        """,
                    arguments: [
                        list.rawValue, seq, last, window.lowerBound.storedValue, window.upperBound.storedValue, limit,
                    ]
                ).map(Self.record(from:))
            }
        }
    }

    public func hashListLastChange(_ list: HashListID, changedIn window: ClosedRange<Date>) async throws -> Int64 {
        try await guarded {
            try await pool.read { db in
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT COALESCE(MAX(seq), 0) FROM hash_list_changes
                        WHERE list_id = ? AND updated_at >= ? AND updated_at <= ?
                        """,
                    arguments: [list.rawValue, window.lowerBound.storedValue, window.upperBound.storedValue]) ?? 0
            }
        }
    }

    /// The columns `record(from:)` reads, by position: exports read millions of rows, and looking columns up
    /// by name costs more than the rest of the decoding.
    static let recordColumns = """
        seq, op, entry_id, media_type, md5, sha1, sha256, pdq, pdq_quality, uk_grade, classification, updated_at, \
        reason, entry_number, line, origin_source, origin_member, origin_id, url
        """

    /// The columns of a window's page: the record without its canonical line, which the dialect does not
    /// write (an empty one is read instead of copying hundreds of bytes a row).
    static let windowColumns = recordColumns.replacingOccurrences(of: " line,", with: " x'' AS line,")

    static func record(from row: Row) -> HashListRecord {
        let change = HashListChange(
            seq: row[0], op: HashListChange.Operation(rawValue: row[1]) ?? .upsert,
            entryId: HashEntryID(rawValue: row[2]), mediaType: MediaType(rawValue: row[3]) ?? .image,
            hashes: Hashes(md5: row[4], sha1: row[5], sha256: row[6], pdq: row[7], pdqQuality: row[8]),
            classification: Category(
                ukGrade: UKGrade(rawValue: row[9]) ?? .c,
                classification: (row[10] as String?).flatMap(IndustryClassification.init(rawValue:))),
            updatedAt: Date(stored: row[11]), reason: (row[12] as String?).flatMap(DeletionReason.init(rawValue:)),
            origin: HashListLog.origin(row[15], row[16], row[17]), url: row[18])
        return HashListRecord(change: change, number: row[13], line: row[14])
    }
}
