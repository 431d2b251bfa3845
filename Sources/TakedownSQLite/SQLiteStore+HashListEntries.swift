import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func hashListEntry(_ list: HashListID, _ entry: HashEntryID) async throws -> HashListEntry? {
        try await guarded { try await pool.read { db in try HashListLog.entry(list, id: entry, db) } }
    }

    public func editHashList(_ list: HashListID, _ edits: [HashListEdit], at now: Date) async throws
        -> [HashListEntry]
    {
        try await guarded {
            try await pool.write { db in
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
        var sql = "SELECT * FROM hash_list_changes WHERE list_id = ? AND seq > ?"
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

    static func record(from row: Row) -> HashListRecord {
        let line: Data = row["line"]
        let change = HashListChange(
            seq: row["seq"], op: HashListChange.Operation(rawValue: row["op"]) ?? .upsert,
            entryId: HashEntryID(rawValue: row["entry_id"]),
            mediaType: MediaType(rawValue: row["media_type"]) ?? .image, hashes: HashListLog.hashes(from: row),
            classification: HashListLog.category(from: row), updatedAt: Date(stored: row["updated_at"]),
            reason: (row["reason"] as String?).flatMap(DeletionReason.init(rawValue:)))
        return HashListRecord(change: change, number: row["entry_number"], line: line)
    }
}
