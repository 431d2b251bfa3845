import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func hashListEntry(_ list: HashListID, _ entry: HashEntryID) async throws -> HashListEntry? {
        try await transaction { transaction in try await PostgresHashListLog.entry(list, id: entry, transaction) }
    }

    public func hashListEntryIDs(_ list: HashListID, hash: String, limit: Int) async throws -> [HashEntryID] {
        try await rows(
            """
            SELECT entry_id FROM hash_list_changes
            WHERE list_id = \(list.rawValue) AND (md5 = \(hash) OR sha1 = \(hash) OR sha256 = \(hash) OR pdq = \(hash))
            GROUP BY entry_id ORDER BY min(seq) LIMIT \(limit)
            """
        ).map { HashEntryID(rawValue: try $0.get("entry_id")) }
    }

    public func editHashList(_ list: HashListID, _ edits: [HashListEdit], at now: Date) async throws
        -> [HashListEntry]
    {
        try await transaction { transaction in
            guard
                let rules = try await Self.hashLists(Self.listSelect + " WHERE l.id = $1", list.rawValue, transaction)
                    .first
            else { throw StoreError.notFound }
            var log = try await PostgresHashListLog(list, transaction)
            var entries: [HashListEntry] = []
            for edit in edits { entries.append(try await log.apply(edit, rules: rules, at: now, transaction)) }
            try await log.save(transaction)
            return entries
        }
    }

    public func hashListRecords(_ list: HashListID, after seq: Int64, liveAt: Int64?, limit: Int) async throws
        -> [HashListRecord]
    {
        var sql = SQL("SELECT * FROM hash_list_changes WHERE list_id = ")
        sql.bind(list.rawValue)
        sql.append(" AND seq > ")
        sql.bind(seq)
        if let liveAt {
            sql.append(" AND seq <= ")
            sql.bind(liveAt)
            sql.append(" AND op = 'upsert' AND (superseded_by IS NULL OR superseded_by > ")
            sql.bind(liveAt)
            sql.append(")")
        }
        sql.append(" ORDER BY seq LIMIT ")
        sql.bind(limit)
        return try await rows(sql.query).map(Self.record(from:))
    }

    public func hashListRecords(
        _ list: HashListID, changedIn window: ClosedRange<Date>, after seq: Int64, through last: Int64, limit: Int
    ) async throws -> [HashListRecord] {
        try await rows(
            """
            SELECT seq, op, entry_id, media_type, md5, sha1, sha256, pdq, pdq_quality, uk_grade, classification,
                   updated_at, reason, entry_number, ''::bytea AS line, origin_source, origin_member, origin_id, url
            FROM hash_list_changes
            WHERE list_id = \(list.rawValue) AND seq > \(seq) AND seq <= \(last)
              AND updated_at >= \(window.lowerBound.stored) AND updated_at <= \(window.upperBound.stored)
            ORDER BY seq LIMIT \(limit)
            """
        ).map(Self.record(from:))
    }

    public func hashListLastChange(_ list: HashListID, changedIn window: ClosedRange<Date>) async throws -> Int64 {
        let row = try await rows(
            """
            SELECT COALESCE(MAX(seq), 0) AS last FROM hash_list_changes
            WHERE list_id = \(list.rawValue)
              AND updated_at >= \(window.lowerBound.stored) AND updated_at <= \(window.upperBound.stored)
            """
        ).first
        return try row?.get("last") ?? 0
    }

    public func hashListPageSpan(_ list: HashListID, after seq: Int64, limit: Int) async throws
        -> (count: Int, last: Int64)
    {
        let row = try await rows(
            """
            SELECT count(*) AS n, COALESCE(MAX(seq), \(seq)) AS last FROM (
                SELECT seq FROM hash_list_changes WHERE list_id = \(list.rawValue) AND seq > \(seq)
                ORDER BY seq LIMIT \(limit)) page
            """
        ).first
        return (try row?.get("n") ?? 0, try row?.get("last") ?? seq)
    }

    static func record(from row: PostgresRandomAccessRow) throws -> HashListRecord {
        let change = HashListChange(
            seq: try row.get("seq"), op: HashListChange.Operation(rawValue: try row.get("op")) ?? .upsert,
            entryId: HashEntryID(rawValue: try row.get("entry_id")),
            mediaType: MediaType(rawValue: try row.get("media_type")) ?? .image,
            hashes: try PostgresHashListLog.hashes(from: row),
            classification: try PostgresHashListLog.category(from: row),
            updatedAt: try row.date("updated_at"),
            reason: try row.get("reason", as: String?.self).flatMap(DeletionReason.init(rawValue:)),
            origin: try PostgresHashListLog.origin(from: row), url: try row.get("url"))
        return HashListRecord(change: change, number: try row.get("entry_number"), line: try row.get("line"))
    }
}
