import Foundation
import GRDB
import TakedownModel
import TakedownStore

/// Appends changes to one list inside a write transaction: each gets the list's next sequence number,
/// marks the entry's previous change superseded, and moves the entry's current state.
struct HashListLog {
    let listID: HashListID
    private(set) var lastSeq: Int64
    private var nextNumber: Int64
    private var entryCount: Int
    private var changed = false
    /// One encoder for every line of the transaction: making one costs more than using it.
    private let encoder = WireFormat.encoder()

    init(_ listID: HashListID, _ db: Database) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT last_seq, entry_count FROM hash_lists WHERE id = ?", arguments: [listID.rawValue])
        else { throw StoreError.notFound }
        self.listID = listID
        lastSeq = row["last_seq"]
        entryCount = row["entry_count"]
        nextNumber =
            try Int64.fetchOne(
                db, sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM hash_list_entries WHERE list_id = ?",
                arguments: [listID.rawValue]) ?? 1
    }

    /// Adds a file unless an entry has its key: a live one stays as it is (and is returned), a deleted one
    /// comes back only when `restoring` (staff), never from a case (nil).
    @discardableResult
    mutating func add(
        _ draft: HashEntryDraft, restoring: Bool, origin: EntryOrigin? = nil, at now: Date, _ db: Database
    ) throws -> HashListEntry? {
        if let row = try Row.fetchOne(
            try db.cachedStatement(sql: "SELECT * FROM hash_list_entries WHERE list_id = ? AND key = ?"),
            arguments: [listID.rawValue, draft.key])
        {
            let id = HashEntryID(rawValue: row["id"])
            if (row["deleted_at"] as Double?) == nil { return try Self.entry(listID, id: id, db) }
            guard restoring else { return nil }
            let restored = draft.restoring(
                id, on: listID, number: row["number"], caseId: (row["case_id"] as String?).map(CaseID.init(rawValue:)),
                createdAt: Date(stored: row["created_at"]), seq: row["seq"], at: now)
            entryCount += 1
            return try append(restored, previousSeq: restored.seq, db)
        }
        let entry = draft.newEntry(on: listID, number: nextNumber, origin: origin, at: now)
        nextNumber += 1
        entryCount += 1
        try db.cachedStatement(
            sql: """
                INSERT INTO hash_list_entries (list_id, number, id, key, case_id, created_at, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                listID.rawValue, entry.number, entry.id.rawValue, draft.key, draft.caseId?.rawValue,
                now.storedValue, lastSeq + 1,
            ])
        return try append(entry, previousSeq: nil, db)
    }

    /// Records the entry's new state as the next change.
    mutating func append(_ entry: HashListEntry, previousSeq: Int64?, _ db: Database) throws -> HashListEntry {
        var entry = entry
        lastSeq += 1
        changed = true
        entry.seq = lastSeq
        if let previousSeq {
            try db.cachedStatement(sql: "UPDATE hash_list_changes SET superseded_by = ? WHERE list_id = ? AND seq = ?")
                .execute(arguments: [lastSeq, listID.rawValue, previousSeq])
        }
        let change = HashListChange(entry)
        let h = entry.hashes
        let line = try change.line(using: encoder)
        try db.cachedStatement(
            sql: """
                INSERT INTO hash_list_changes (list_id, seq, entry_number, entry_id, op, media_type, md5, sha1, sha256,
                                               pdq, pdq_quality, uk_grade, classification, updated_at, reason, line,
                                               origin_source, origin_member, origin_id, url)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            listID.rawValue, lastSeq, entry.number, entry.id.rawValue, change.op.rawValue, entry.mediaType.rawValue,
            h.md5, h.sha1, h.sha256, h.pdq, h.pdqQuality, entry.classification.ukGrade.rawValue,
            entry.classification.classification?.rawValue, entry.updatedAt.storedValue,
            entry.deletionReason?.rawValue, line, entry.origin?.source.rawValue,
            entry.origin?.member, entry.origin?.id, entry.url,
        ])
        try SQLiteStore.log(
            .hashListChange(list: listID, seq: lastSeq, entry: entry.id.rawValue, op: change.op.rawValue, line: line),
            db: db)
        // A new entry was inserted with this state already.
        if previousSeq != nil {
            try db.cachedStatement(
                sql: "UPDATE hash_list_entries SET seq = ?, deleted_at = ?, purged = 0 WHERE list_id = ? AND number = ?"
            ).execute(arguments: [lastSeq, entry.deletedAt?.storedValue, listID.rawValue, entry.number])
        }
        return entry
    }

    /// Applies one staff edit.
    mutating func apply(_ edit: HashListEdit, rules: HashList, at now: Date, _ db: Database) throws -> HashListEntry {
        switch edit {
        case .add(let draft):
            return try add(draft, restoring: true, at: now, db)!
        case .reclassify(let id, let category):
            guard let entry = try Self.entry(listID, id: id, db) else { throw StoreError.notFound }
            guard let moved = entry.reclassified(to: category, in: rules, at: now) else { return entry }
            return try move(entry, to: moved, db)
        case .delete(let id, let reason):
            guard let entry = try Self.entry(listID, id: id, db) else { throw StoreError.notFound }
            guard let moved = entry.deleted(reason: reason, at: now) else { return entry }
            return try move(entry, to: moved, db)
        }
    }

    /// Records an entry's move (by the model's rules) as the next change, keeping the count of live entries.
    mutating func move(_ entry: HashListEntry, to moved: HashListEntry, _ db: Database) throws -> HashListEntry {
        entryCount += entry.liveCountChange(to: moved)
        return try append(moved, previousSeq: entry.seq, db)
    }

    /// Takes one change a source reported (see `SourceImport`), and notes its source time on the entry.
    mutating func take(
        _ change: SourceChange, from source: HashListSource, hashTypes: [HashType], at now: Date, _ db: Database
    ) throws -> SourceImport {
        let key = change.key(from: source.id)
        let row = try Row.fetchOne(
            try db.cachedStatement(sql: Self.entrySelect + " WHERE e.list_id = ? AND e.key = ?"),
            arguments: [listID.rawValue, key])
        let existing = try row.map { try Self.entry(from: $0, listID) }
        let outcome = SourceImport.decide(
            change, source: source, hashTypes: hashTypes, existing: existing,
            remoteAt: (row?["remote_at"] as Double?).map(Date.init(stored:)), now: now)
        switch outcome {
        case .unchanged: break
        case .add(let draft, let origin): try add(draft, restoring: false, origin: origin, at: now, db)
        case .restore(let entry):
            entryCount += 1
            _ = try append(entry, previousSeq: entry.seq, db)
        case .update(let entry): _ = try append(entry, previousSeq: entry.seq, db)
        case .delete(let entry):
            entryCount -= 1
            _ = try append(entry, previousSeq: entry.seq, db)
        }
        // The entry's source time only moves forward: an older change ignored must not open the door to the
        // changes between it and the newest taken.
        let previous = (row?["remote_at"] as Double?).map(Date.init(stored:))
        if existing != nil || outcome != .unchanged, previous.map({ change.timestamp > $0 }) ?? true {
            try db.cachedStatement(sql: "UPDATE hash_list_entries SET remote_at = ? WHERE list_id = ? AND key = ?")
                .execute(arguments: [change.timestamp.storedValue, listID.rawValue, key])
        }
        return outcome
    }

    /// Puts an issued notice's URL on a URL list: a live entry stays, one that left comes back (a new notice
    /// confirms the URL live again) unless staff took it off as a false positive or for legal reasons.
    mutating func enter(_ draft: HashEntryDraft, at now: Date, _ db: Database) throws {
        if let row = try Row.fetchOne(
            try db.cachedStatement(sql: Self.entrySelect + " WHERE e.list_id = ? AND e.key = ?"),
            arguments: [listID.rawValue, draft.key]),
            !(try Self.entry(from: row, listID).returnsWithANewNotice)
        {
            return
        }
        try add(draft, restoring: true, at: now, db)
    }

    /// Moves a URL list's entry as its notice stands: off the list with `reason` when live, or back on when
    /// it had left because its URL was found gone and is served again. Staff removals stay removed.
    mutating func stand(_ key: String, leaving reason: DeletionReason?, at now: Date, _ db: Database) throws {
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: Self.entrySelect + " WHERE e.list_id = ? AND e.key = ?"),
                arguments: [listID.rawValue, key])
        else { return }
        let entry = try Self.entry(from: row, listID)
        guard let moved = entry.standing(leaving: reason, at: now) else { return }
        _ = try move(entry, to: moved, db)
    }

    func save(_ db: Database) throws {
        guard changed else { return }
        try db.execute(
            sql: "UPDATE hash_lists SET last_seq = ?, entry_count = ? WHERE id = ?",
            arguments: [lastSeq, entryCount, listID.rawValue])
    }

    static let entrySelect = """
        SELECT e.number, e.id, e.case_id, e.created_at, e.deleted_at, e.seq, c.media_type, c.md5, c.sha1, c.sha256,
               c.pdq, c.pdq_quality, c.uk_grade, c.classification, c.updated_at, c.reason, c.origin_source,
               c.origin_member, c.origin_id, c.url, e.remote_at
        FROM hash_list_entries e JOIN hash_list_changes c ON c.list_id = e.list_id AND c.seq = e.seq
        """

    static func entry(_ list: HashListID, id: HashEntryID, _ db: Database) throws -> HashListEntry? {
        try Row.fetchOne(
            db, sql: entrySelect + " WHERE e.list_id = ? AND e.id = ?", arguments: [list.rawValue, id.rawValue]
        )
        .map { try entry(from: $0, list) }
    }

    static func entry(from row: Row, _ list: HashListID) throws -> HashListEntry {
        HashListEntry(
            id: HashEntryID(rawValue: row["id"]), listId: list, number: row["number"],
            mediaType: MediaType(rawValue: row["media_type"]) ?? .image, hashes: hashes(from: row),
            classification: category(from: row), caseId: (row["case_id"] as String?).map(CaseID.init(rawValue:)),
            createdAt: Date(stored: row["created_at"]), updatedAt: Date(stored: row["updated_at"]),
            deletedAt: (row["deleted_at"] as Double?).map(Date.init(stored:)),
            deletionReason: (row["reason"] as String?).flatMap(DeletionReason.init(rawValue:)), seq: row["seq"],
            origin: origin(row["origin_source"], row["origin_member"], row["origin_id"]), url: row["url"])
    }

    static func origin(_ source: String?, _ member: Int64?, _ id: String?) -> EntryOrigin? {
        guard let source, let member, let id else { return nil }
        return EntryOrigin(source: SourceID(rawValue: source), member: member, id: id)
    }

    static func hashes(from row: Row) -> Hashes {
        Hashes(
            md5: row["md5"], sha1: row["sha1"], sha256: row["sha256"], pdq: row["pdq"], pdqQuality: row["pdq_quality"])
    }

    static func category(from row: Row) -> Category {
        Category(
            ukGrade: UKGrade(rawValue: row["uk_grade"]) ?? .c,
            classification: (row["classification"] as String?).flatMap(IndustryClassification.init(rawValue:)))
    }
}
