import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

/// Appends changes to one list inside a transaction: each gets the list's next sequence number, marks
/// the entry's previous change superseded, and moves the entry's current state.
///
/// The list row is locked (`FOR UPDATE`) when the log opens and stays locked until commit, so another
/// writer of the list waits and numbers its changes after ours: sequence numbers are handed out in commit
/// order, and a feed reader's cursor never passes a change that commits later.
struct PostgresHashListLog {
    typealias Transaction = PostgresStore.Transaction

    let listID: HashListID
    var lastSeq: Int64
    var nextNumber: Int64
    var entryCount: Int
    var changed = false
    /// One encoder for every line of the transaction: making one costs more than using it.
    let encoder = WireFormat.encoder()

    init(_ listID: HashListID, _ transaction: Transaction) async throws {
        guard
            let row = try await transaction.rows(
                "SELECT last_seq, entry_count FROM hash_lists WHERE id = \(listID.rawValue) FOR UPDATE"
            ).first
        else { throw StoreError.notFound }
        self.listID = listID
        lastSeq = try row.get("last_seq")
        entryCount = try row.get("entry_count")
        nextNumber =
            try await transaction.rows(
                "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM hash_list_entries WHERE list_id = \(listID.rawValue)"
            ).first?.get("next") ?? 1
    }

    /// Adds a file unless an entry has its key: a live one stays as it is (and is returned), a deleted one
    /// comes back only when `restoring` (staff), never from a case (nil).
    @discardableResult
    mutating func add(
        _ draft: HashEntryDraft, restoring: Bool, origin: EntryOrigin? = nil, at now: Date, _ transaction: Transaction
    ) async throws -> HashListEntry? {
        if let row = try await transaction.rows(
            "SELECT * FROM hash_list_entries WHERE list_id = \(listID.rawValue) AND key = \(draft.key)"
        ).first {
            let id = HashEntryID(rawValue: try row.get("id"))
            if try row.get("deleted_at", as: Double?.self) == nil {
                return try await Self.entry(listID, id: id, transaction)
            }
            guard restoring else { return nil }
            let restored = draft.restoring(
                id, on: listID, number: try row.get("number"),
                caseId: try row.get("case_id", as: String?.self).map(CaseID.init(rawValue:)),
                createdAt: try row.date("created_at"), seq: try row.get("seq"), at: now)
            entryCount += 1
            return try await append(restored, previousSeq: restored.seq, transaction)
        }
        let entry = draft.newEntry(on: listID, number: nextNumber, origin: origin, at: now)
        nextNumber += 1
        entryCount += 1
        try await transaction.run(
            """
            INSERT INTO hash_list_entries (list_id, number, id, key, case_id, created_at, seq)
            VALUES (\(listID.rawValue), \(entry.number), \(entry.id.rawValue), \(draft.key), \(draft.caseId?.rawValue),
                    \(now.stored), \(lastSeq + 1))
            """)
        return try await append(entry, previousSeq: nil, transaction)
    }

    /// Records the entry's new state as the next change.
    mutating func append(_ entry: HashListEntry, previousSeq: Int64?, _ transaction: Transaction) async throws
        -> HashListEntry
    {
        var entry = entry
        lastSeq += 1
        changed = true
        entry.seq = lastSeq
        if let previousSeq {
            try await transaction.run(
                """
                UPDATE hash_list_changes SET superseded_by = \(lastSeq)
                WHERE list_id = \(listID.rawValue) AND seq = \(previousSeq)
                """)
        }
        let change = HashListChange(entry)
        let h = entry.hashes
        let line = try change.line(using: encoder)
        try await transaction.run(
            """
            INSERT INTO hash_list_changes (list_id, seq, entry_number, entry_id, op, media_type, md5, sha1, sha256,
                                           pdq, pdq_quality, uk_grade, classification, updated_at, reason, line,
                                           origin_source, origin_member, origin_id, url)
            VALUES (\(listID.rawValue), \(lastSeq), \(entry.number), \(entry.id.rawValue), \(change.op.rawValue),
                    \(entry.mediaType.rawValue), \(h.md5), \(h.sha1), \(h.sha256), \(h.pdq), \(h.pdqQuality),
                    \(entry.classification.ukGrade.rawValue), \(entry.classification.classification?.rawValue),
                    \(entry.updatedAt.stored), \(entry.deletionReason?.rawValue), \(line),
                    \(entry.origin?.source.rawValue), \(entry.origin?.member), \(entry.origin?.id), \(entry.url))
            """)
        try await PostgresStore.log(
            [.hashListChange(list: listID, seq: lastSeq, entry: entry.id.rawValue, op: change.op.rawValue, line: line)],
            transaction)
        // A new entry was inserted with this state already.
        if previousSeq != nil {
            try await transaction.run(
                """
                UPDATE hash_list_entries SET seq = \(lastSeq), deleted_at = \(entry.deletedAt?.stored), purged = false
                WHERE list_id = \(listID.rawValue) AND number = \(entry.number)
                """)
        }
        return entry
    }

    /// Applies one staff edit.
    mutating func apply(_ edit: HashListEdit, rules: HashList, at now: Date, _ transaction: Transaction) async throws
        -> HashListEntry
    {
        switch edit {
        case .add(let draft):
            guard let entry = try await add(draft, restoring: true, at: now, transaction) else {
                throw StoreError.conflict("entry \(draft.key) could not be restored")
            }
            return entry
        case .reclassify(let id, let category):
            guard let entry = try await Self.entry(listID, id: id, transaction) else { throw StoreError.notFound }
            guard let moved = entry.reclassified(to: category, in: rules, at: now) else { return entry }
            return try await move(entry, to: moved, transaction)
        case .delete(let id, let reason):
            guard let entry = try await Self.entry(listID, id: id, transaction) else { throw StoreError.notFound }
            guard let moved = entry.deleted(reason: reason, at: now) else { return entry }
            return try await move(entry, to: moved, transaction)
        }
    }

    /// Records an entry's move (by the model's rules) as the next change, keeping the count of live entries.
    mutating func move(_ entry: HashListEntry, to moved: HashListEntry, _ transaction: Transaction) async throws
        -> HashListEntry
    {
        entryCount += entry.liveCountChange(to: moved)
        return try await append(moved, previousSeq: entry.seq, transaction)
    }

    /// Puts an issued notice's URL on a URL list: a live entry stays, one that left comes back (a new notice
    /// confirms the URL live again) unless staff took it off as a false positive or for legal reasons.
    mutating func enter(_ draft: HashEntryDraft, at now: Date, _ transaction: Transaction) async throws {
        if let entry = try await Self.entry(listID, key: draft.key, transaction), !entry.returnsWithANewNotice {
            return
        }
        try await add(draft, restoring: true, at: now, transaction)
    }

    /// Moves a URL list's entry as its notice stands: off the list with `reason` when live, or back on when
    /// it had left because its URL was found gone and is served again. Staff removals stay removed.
    mutating func stand(_ key: String, leaving reason: DeletionReason?, at now: Date, _ transaction: Transaction)
        async throws
    {
        guard let entry = try await Self.entry(listID, key: key, transaction),
            let moved = entry.standing(leaving: reason, at: now)
        else { return }
        _ = try await move(entry, to: moved, transaction)
    }

    func save(_ transaction: Transaction) async throws {
        guard changed else { return }
        try await transaction.run(
            "UPDATE hash_lists SET last_seq = \(lastSeq), entry_count = \(entryCount) WHERE id = \(listID.rawValue)")
    }

    static let entrySelect = """
        SELECT e.number, e.id, e.case_id, e.created_at, e.deleted_at, e.seq, c.media_type, c.md5, c.sha1, c.sha256,
               c.pdq, c.pdq_quality, c.uk_grade, c.classification, c.updated_at, c.reason, c.origin_source,
               c.origin_member, c.origin_id, c.url, e.remote_at
        FROM hash_list_entries e JOIN hash_list_changes c ON c.list_id = e.list_id AND c.seq = e.seq
        """

    static func entry(_ list: HashListID, id: HashEntryID, _ transaction: Transaction) async throws -> HashListEntry? {
        var sql = SQL(entrySelect + " WHERE e.list_id = ")
        sql.bind(list.rawValue)
        sql.append(" AND e.id = ")
        sql.bind(id.rawValue)
        return try await transaction.rows(sql.query).first.map { try entry(from: $0, list) }
    }

    static func entry(_ list: HashListID, key: String, _ transaction: Transaction) async throws -> HashListEntry? {
        var sql = SQL(entrySelect + " WHERE e.list_id = ")
        sql.bind(list.rawValue)
        sql.append(" AND e.key = ")
        sql.bind(key)
        return try await transaction.rows(sql.query).first.map { try entry(from: $0, list) }
    }

    static func entry(from row: PostgresRandomAccessRow, _ list: HashListID) throws -> HashListEntry {
        HashListEntry(
            id: HashEntryID(rawValue: try row.get("id")), listId: list, number: try row.get("number"),
            mediaType: MediaType(rawValue: try row.get("media_type")) ?? .image, hashes: try hashes(from: row),
            classification: try category(from: row),
            caseId: try row.get("case_id", as: String?.self).map(CaseID.init(rawValue:)),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"),
            deletedAt: try row.optionalDate("deleted_at"),
            deletionReason: try row.get("reason", as: String?.self).flatMap(DeletionReason.init(rawValue:)),
            seq: try row.get("seq"), origin: try origin(from: row), url: try row.get("url"))
    }

    static func origin(from row: PostgresRandomAccessRow) throws -> EntryOrigin? {
        guard let source = try row.get("origin_source", as: String?.self),
            let member = try row.get("origin_member", as: Int64?.self),
            let id = try row.get("origin_id", as: String?.self)
        else { return nil }
        return EntryOrigin(source: SourceID(rawValue: source), member: member, id: id)
    }

    static func hashes(from row: PostgresRandomAccessRow) throws -> Hashes {
        Hashes(
            md5: try row.get("md5"), sha1: try row.get("sha1"), sha256: try row.get("sha256"), pdq: try row.get("pdq"),
            pdqQuality: try row.get("pdq_quality"))
    }

    static func category(from row: PostgresRandomAccessRow) throws -> Category {
        Category(
            ukGrade: UKGrade(rawValue: try row.get("uk_grade")) ?? .c,
            classification: try row.get("classification", as: String?.self).flatMap(
                IndustryClassification.init(rawValue:)))
    }
}
