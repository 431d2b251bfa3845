import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

/// The rows a page of a source's changes (or a batch of cases' contributions) writes, gathered to go in one multi-row statement per table.
struct PageRows {
    /// New entries; the source time is nil for an entry a case brought.
    var entries: [(entry: HashListEntry, key: String, remoteAt: Date?)] = []
    var changes: [(change: HashListChange, number: Int64, line: String)] = []
    var superseded: [(previous: Int64, by: Int64)] = []
    /// Entries already stored whose state moved: number → (seq, deleted at).
    var states: [Int64: (seq: Int64, deletedAt: Date?)] = [:]
    /// Entries already stored: key → the source time of the last change taken.
    var remoteTimes: [String: Date] = [:]
}

extension PostgresHashListLog {
    /// Takes a page of a source's changes (see `SourceImport`) in a handful of statements, whatever its
    /// length: the entries the page names are read in one, the decisions are made in page order (a key named
    /// twice sees its own earlier change), and the rows go in one multi-row statement per table. A change
    /// costs a round trip to the server no more.
    mutating func takePage(
        _ changes: [SourceChange], from source: HashListSource, hashTypes: [HashType], at now: Date,
        _ transaction: Transaction
    ) async throws -> SourceCounts {
        let keys = Array(Set(changes.map { $0.key(from: source.id) }))
        var known: [String: (entry: HashListEntry, remoteAt: Date?, stored: Bool)] = [:]
        if !keys.isEmpty {
            let select = "SELECT e.key, " + Self.entrySelect.dropFirst("SELECT ".count)
            for row in try await transaction.rows(
                "\(unescaped: select) WHERE e.list_id = \(listID.rawValue) AND e.key = ANY(\(keys)::text[])")
            {
                known[try row.get("key")] = (
                    try Self.entry(from: row, listID), try row.optionalDate("remote_at"), true
                )
            }
        }
        var rows = PageRows()
        var counts = SourceCounts()
        for change in changes {
            let key = change.key(from: source.id)
            let held = known[key]
            let outcome = SourceImport.decide(
                change, source: source, hashTypes: hashTypes, existing: held?.entry, remoteAt: held?.remoteAt,
                now: now)
            counts = counts + outcome.counts
            var taken: HashListEntry?
            switch outcome {
            case .unchanged: break
            case .add(let draft, let origin):
                let entry = draft.newEntry(on: listID, number: nextNumber, origin: origin, at: now)
                nextNumber += 1
                entryCount += 1
                taken = try record(entry, previousSeq: nil, &rows)
                rows.entries.append((taken!, key, change.timestamp))
            case .restore(let entry):
                entryCount += 1
                taken = try record(entry, previousSeq: entry.seq, &rows)
            case .update(let entry): taken = try record(entry, previousSeq: entry.seq, &rows)
            case .delete(let entry):
                entryCount -= 1
                taken = try record(entry, previousSeq: entry.seq, &rows)
            }
            guard let held else {
                if let taken { known[key] = (taken, change.timestamp, false) }
                continue
            }
            // The entry's source time only moves forward (an older change ignored leaves it).
            guard held.remoteAt.map({ change.timestamp > $0 }) ?? true else {
                if let taken { known[key] = (taken, held.remoteAt, held.stored) }
                continue
            }
            known[key] = (taken ?? held.entry, change.timestamp, held.stored)
            if held.stored {
                rows.remoteTimes[key] = change.timestamp
            } else if let index = rows.entries.firstIndex(where: { $0.key == key }) {
                rows.entries[index].remoteAt = change.timestamp
            }
        }
        try await write(rows, transaction)
        return counts
    }

    /// Takes a batch of cases' contributions in a handful of statements, as `takePage` does a source's: the
    /// entries their keys name are read in one, the drafts are decided in order (a key named twice sees its
    /// own earlier change), and the rows go in one multi-row statement per table. The same decisions as `add`
    /// and `enter` one by one: a file never brings back an entry that left (`urls` false); a notice's URL
    /// brings back one that left unless staff took it off for good (`returnsWithANewNotice`).
    mutating func contribute(_ drafts: [(at: Date, draft: HashEntryDraft)], urls: Bool, _ transaction: Transaction)
        async throws
    {
        let keys = Array(Set(drafts.map(\.draft.key)))
        guard !keys.isEmpty else { return }
        // Every entry with one of the keys, compacted ones too (their last change is gone: LEFT JOIN).
        struct Held {
            var id: HashEntryID
            var number: Int64
            var caseId: CaseID?
            var createdAt: Date
            var seq: Int64
            var live: Bool
            var reason: DeletionReason?
        }
        var known: [String: Held] = [:]
        for row in try await transaction.rows(
            """
            SELECT e.key, e.id, e.number, e.case_id, e.created_at, e.deleted_at, e.seq, c.reason
            FROM hash_list_entries e LEFT JOIN hash_list_changes c ON c.list_id = e.list_id AND c.seq = e.seq
            WHERE e.list_id = \(listID.rawValue) AND e.key = ANY(\(keys)::text[])
            """)
        {
            known[try row.get("key")] = Held(
                id: HashEntryID(rawValue: try row.get("id")), number: try row.get("number"),
                caseId: try row.get("case_id", as: String?.self).map(CaseID.init(rawValue:)),
                createdAt: try row.date("created_at"), seq: try row.get("seq"),
                live: try row.get("deleted_at", as: Double?.self) == nil,
                reason: try row.get("reason", as: String?.self).flatMap(DeletionReason.init(rawValue:)))
        }
        var rows = PageRows()
        for (at, draft) in drafts {
            if let held = known[draft.key] {
                guard urls, !held.live, HashListEntry.returnsWithANewNotice(held.reason) else { continue }
                let restored = draft.restoring(
                    held.id, on: listID, number: held.number, caseId: held.caseId, createdAt: held.createdAt,
                    seq: held.seq, at: at)
                entryCount += 1
                let taken = try record(restored, previousSeq: restored.seq, &rows)
                known[draft.key] = Held(
                    id: taken.id, number: taken.number, caseId: taken.caseId, createdAt: taken.createdAt,
                    seq: taken.seq, live: true, reason: nil)
                continue
            }
            let entry = draft.newEntry(on: listID, number: nextNumber, origin: nil, at: at)
            nextNumber += 1
            entryCount += 1
            let taken = try record(entry, previousSeq: nil, &rows)
            rows.entries.append((taken, draft.key, nil))
            known[draft.key] = Held(
                id: taken.id, number: taken.number, caseId: taken.caseId, createdAt: taken.createdAt, seq: taken.seq,
                live: true, reason: nil)
        }
        try await write(rows, transaction)
    }

    /// Gives the entry's new state the next sequence number and gathers its change row.
    private mutating func record(_ entry: HashListEntry, previousSeq: Int64?, _ rows: inout PageRows) throws
        -> HashListEntry
    {
        var entry = entry
        lastSeq += 1
        changed = true
        entry.seq = lastSeq
        let change = HashListChange(entry)
        rows.changes.append((change, entry.number, String(decoding: try change.line(using: encoder), as: UTF8.self)))
        if let previousSeq {
            rows.superseded.append((previousSeq, lastSeq))
            if let index = rows.entries.firstIndex(where: { $0.entry.number == entry.number }) {
                // Inserted by this page: its row goes in with its last state.
                rows.entries[index].entry = entry
            } else {
                rows.states[entry.number] = (lastSeq, entry.deletedAt)
            }
        }
        return entry
    }

    /// One statement per table: new entries, change rows, superseded marks, moved states, source times.
    private func write(_ rows: PageRows, _ transaction: Transaction) async throws {
        let list = listID.rawValue
        if !rows.entries.isEmpty {
            let entries = rows.entries
            try await transaction.run(
                """
                INSERT INTO hash_list_entries (list_id, number, id, key, case_id, created_at, deleted_at, seq, remote_at)
                SELECT \(list), n, i, k, NULLIF(ci, ''), c, NULLIF(d, -1), s, NULLIF(r, -1)
                FROM UNNEST(\(entries.map(\.entry.number))::bigint[], \(entries.map(\.entry.id.rawValue))::text[],
                            \(entries.map(\.key))::text[], \(entries.map { $0.entry.caseId?.rawValue ?? "" })::text[],
                            \(entries.map(\.entry.createdAt.stored))::float8[],
                            \(entries.map { $0.entry.deletedAt?.stored ?? -1 })::float8[],
                            \(entries.map(\.entry.seq))::bigint[], \(entries.map { $0.remoteAt?.stored ?? -1 })::float8[])
                    AS t(n, i, k, ci, c, d, s, r)
                """)
        }
        if !rows.changes.isEmpty {
            let changes = rows.changes.map(\.change)
            let text = { (value: String?) in value ?? "" }
            try await transaction.run(
                """
                INSERT INTO hash_list_changes (list_id, seq, entry_number, entry_id, op, media_type, md5, sha1, sha256,
                                               pdq, pdq_quality, uk_grade, classification, updated_at, reason, line,
                                               origin_source, origin_member, origin_id, url)
                SELECT \(list), s, n, i, o, m, NULLIF(h1, ''), NULLIF(h2, ''), NULLIF(h3, ''), NULLIF(h4, ''),
                       NULLIF(q, -1), g, NULLIF(c, ''), u, NULLIF(r, ''), convert_to(l, 'UTF8'),
                       CASE WHEN f THEN os END, CASE WHEN f THEN om END, CASE WHEN f THEN oi END, CASE WHEN w THEN url END
                FROM UNNEST(\(changes.map(\.seq))::bigint[], \(rows.changes.map(\.number))::bigint[],
                            \(changes.map(\.entryId.rawValue))::text[], \(changes.map(\.op.rawValue))::text[],
                            \(changes.map(\.mediaType.rawValue))::text[], \(changes.map { text($0.hashes.md5) })::text[],
                            \(changes.map { text($0.hashes.sha1) })::text[],
                            \(changes.map { text($0.hashes.sha256) })::text[],
                            \(changes.map { text($0.hashes.pdq) })::text[],
                            \(changes.map { Int64($0.hashes.pdqQuality ?? -1) })::bigint[],
                            \(changes.map(\.classification.ukGrade.rawValue))::text[],
                            \(changes.map { text($0.classification.classification?.rawValue) })::text[],
                            \(changes.map(\.updatedAt.stored))::float8[], \(changes.map { text($0.reason?.rawValue) })::text[],
                            \(rows.changes.map(\.line))::text[], \(changes.map { $0.origin != nil })::bool[],
                            \(changes.map { text($0.origin?.source.rawValue) })::text[],
                            \(changes.map { $0.origin?.member ?? 0 })::bigint[], \(changes.map { text($0.origin?.id) })::text[],
                            \(changes.map { $0.url != nil })::bool[], \(changes.map { text($0.url) })::text[])
                    AS t(s, n, i, o, m, h1, h2, h3, h4, q, g, c, u, r, l, f, os, om, oi, w, url)
                """)
            try await PostgresStore.log(
                rows.changes.map { change, _, line in
                    .hashListChange(
                        list: listID, seq: change.seq, entry: change.entryId.rawValue, op: change.op.rawValue,
                        line: Data(line.utf8))
                }, transaction)
        }
        if !rows.superseded.isEmpty {
            try await transaction.run(
                """
                UPDATE hash_list_changes c SET superseded_by = t.s
                FROM UNNEST(\(rows.superseded.map(\.previous))::bigint[], \(rows.superseded.map(\.by))::bigint[]) AS t(p, s)
                WHERE c.list_id = \(list) AND c.seq = t.p
                """)
        }
        if !rows.states.isEmpty {
            let states = Array(rows.states)
            try await transaction.run(
                """
                UPDATE hash_list_entries e SET seq = t.s, deleted_at = NULLIF(t.d, -1), purged = false
                FROM UNNEST(\(states.map(\.key))::bigint[], \(states.map(\.value.seq))::bigint[],
                            \(states.map { $0.value.deletedAt?.stored ?? -1 })::float8[]) AS t(n, s, d)
                WHERE e.list_id = \(list) AND e.number = t.n
                """)
        }
        if !rows.remoteTimes.isEmpty {
            let times = Array(rows.remoteTimes)
            try await transaction.run(
                """
                UPDATE hash_list_entries e SET remote_at = t.r
                FROM UNNEST(\(times.map(\.key))::text[], \(times.map(\.value.stored))::float8[]) AS t(k, r)
                WHERE e.list_id = \(list) AND e.key = t.k
                """)
        }
    }
}
