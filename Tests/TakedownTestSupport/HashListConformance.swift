import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The hash-list part of the storage contract.
public enum HashListConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "hash lists take in stored and new cases by grade and hash type, once per file": intake,
        "many cases at once feed a list one entry per file, numbered without gap": concurrentIntake,
        "hash list edits get consecutive sequence numbers and leave tombstones": edits,
        "a version holds the entries live at its sequence number": versionContents,
        "versions are numbered once; tombstones are compacted once published and old": versionsAndPurge,
        "hash list downloads and feedback round-trip; deleting feedback deletes the entry": activity,
        "hash lists are listed for their grantees only": grants,
        "a time window of the change log pages by sequence number up to its fixed end": window,
        "entries are found by any of their hashes, on their own list only": lookUp,
    ]

    static func list(
        _ name: String = "Providers", grades: [UKGrade] = [.a, .b], types: [HashType] = [.md5, .sha256],
        partners: [PartnerID] = []
    ) -> HashList {
        HashList(
            id: .generate(), name: name, audience: .hostingProvider, hashTypes: types,
            include: HashListInclusion(ukGrades: grades), partners: partners, createdAt: Synthetic.epoch,
            updatedAt: Synthetic.epoch)
    }

    static func caseRecord(grade: UKGrade, hashes: [Hashes], at offset: TimeInterval = 0) -> Case {
        var record = Synthetic.caseRecord(
            urls: hashes.indices.map { "https://cdn.example.com/\($0)-\(Synthetic.hex(6))" },
            at: Synthetic.epoch.addingTimeInterval(offset))
        record.category = Category(ukGrade: grade)
        for index in hashes.indices { record.items[index].hashes = hashes[index] }
        return record
    }

    static func draft(grade: UKGrade = .a, hashes: Hashes = Synthetic.hashes(), list: HashList) -> HashEntryDraft {
        let kept = hashes.restricted(to: list.hashTypes)
        return HashEntryDraft(
            key: kept.entryKey(for: list.hashTypes)!, mediaType: .image, hashes: kept,
            classification: Category(ukGrade: grade), caseId: nil)
    }

    static func feed(_ store: any GatewayStore, _ list: HashListID, liveAt: Int64? = nil) async throws
        -> [HashListRecord]
    {
        try await store.hashListRecords(list, after: 0, liveAt: liveAt, limit: 10_000)
    }

    static func lookUp(_ store: any GatewayStore) async throws {
        let first = Synthetic.hashes()
        let second = Synthetic.hashes()
        _ = try await store.insertCase(
            caseRecord(grade: .a, hashes: [first, second]), notices: [], deliveries: [], idempotency: nil)
        let list = list()
        let other = Self.list("Other")
        try await store.insertHashList(list)
        try await store.insertHashList(other)
        let entries = try await feed(store, list.id).map(\.change.entryId)
        #expect(entries.count == 2)
        // By its key hash (sha256) and by another column (md5), the same entry; nothing for a hash it lacks.
        let bySHA = try await store.hashListEntryIDs(list.id, hash: try #require(second.sha256), limit: 10)
        let byMD5 = try await store.hashListEntryIDs(list.id, hash: try #require(second.md5), limit: 10)
        #expect(bySHA == [entries[1]] && byMD5 == [entries[1]])
        #expect(try await store.hashListEntryIDs(list.id, hash: try #require(first.sha1), limit: 10).isEmpty)
        #expect(try await store.hashListEntryIDs(list.id, hash: Synthetic.hex(64), limit: 10).isEmpty)
        // The other list's entry for the same file is its own.
        let theirs = try await store.hashListEntryIDs(other.id, hash: try #require(first.md5), limit: 10)
        #expect(theirs.count == 1 && theirs != [entries[0]])
    }

    static func intake(_ store: any GatewayStore) async throws {
        let early = Synthetic.hashes()
        _ = try await store.insertCase(
            caseRecord(grade: .a, hashes: [early]), notices: [], deliveries: [], idempotency: nil)
        let list = list()
        try await store.insertHashList(list)
        var stored = try #require(try await store.hashList(list.id))
        #expect(stored.lastSeq == 1 && stored.entryCount == 1)
        // Only the list's hash types travel; the SHA-1 of the case stays behind.
        let first = try await feed(store, list.id)
        #expect(first.map(\.change.hashes) == [Hashes(md5: early.md5, sha256: early.sha256)])
        #expect(first[0].change.op == .upsert && first[0].number == 1)

        let later = Synthetic.hashes()
        let graded = caseRecord(grade: .b, hashes: [later, early], at: 60)
        _ = try await store.insertCase(graded, notices: [], deliveries: [], idempotency: nil)
        let sha1Only = Hashes(sha1: Synthetic.hex(40))
        _ = try await store.insertCase(
            caseRecord(grade: .c, hashes: [Synthetic.hashes()]), notices: [], deliveries: [], idempotency: nil)
        _ = try await store.insertCase(
            caseRecord(grade: .a, hashes: [sha1Only]), notices: [], deliveries: [], idempotency: nil)
        stored = try #require(try await store.hashList(list.id))
        #expect(stored.lastSeq == 2 && stored.entryCount == 2)
        let records = try await feed(store, list.id)
        #expect(records.map(\.change.seq) == [1, 2])
        #expect(records[1].change.hashes.sha256 == later.sha256)
        #expect(records[1].change.classification.ukGrade == .b)
        #expect(records[1].change.updatedAt == Synthetic.epoch.addingTimeInterval(60))
        let entry = try #require(try await store.hashListEntry(list.id, records[1].change.entryId))
        #expect(entry.caseId == graded.id && entry.number == 2 && entry.isLive)
        // Each line is the change's canonical JSON.
        #expect(records.allSatisfy { (try? $0.change.line()) == $0.line })
    }

    static func concurrentIntake(_ store: any GatewayStore) async throws {
        let list = list()
        try await store.insertHashList(list)
        // 80 cases at once (batched together on a store that batches), each with a file of its own and one of
        // ten files the others share.
        let shared = (0..<10).map { _ in Synthetic.hashes() }
        let records = (0..<80).map { index in
            caseRecord(grade: .a, hashes: [Synthetic.hashes(), shared[index % 10]], at: Double(index))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for record in records {
                group.addTask { _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil) }
            }
            try await group.waitForAll()
        }
        let stored = try #require(try await store.hashList(list.id))
        #expect(stored.lastSeq == 90 && stored.entryCount == 90)
        let feed = try await feed(store, list.id)
        #expect(feed.map(\.change.seq) == Array(1...90))
        #expect(Set(feed.map(\.number)) == Set(1...90))
        let caseIDs = Set(records.map(\.id))
        for hashes in shared {
            let found = try await store.hashListEntryIDs(list.id, hash: try #require(hashes.sha256), limit: 10)
            #expect(found.count == 1)
            let id = try #require(found.first)
            let entry = try #require(try await store.hashListEntry(list.id, id))
            #expect(entry.caseId.map(caseIDs.contains) == true && entry.isLive)
        }
    }

    static func window(_ store: any GatewayStore) async throws {
        let list = list()
        try await store.insertHashList(list)
        let at = { (seconds: TimeInterval) in Synthetic.epoch.addingTimeInterval(seconds) }
        // Changes 1–3 at 10 s, 4–5 at 20 s, 6 at 30 s.
        let first = try await store.editHashList(list.id, (0..<3).map { _ in .add(draft(list: list)) }, at: at(10))
        _ = try await store.editHashList(list.id, (0..<2).map { _ in .add(draft(list: list)) }, at: at(20))
        _ = try await store.editHashList(list.id, [.delete(first[0].id, .falsePositive)], at: at(30))
        #expect(try await store.hashListLastChange(list.id, changedIn: at(10)...at(20)) == 5)
        #expect(try await store.hashListLastChange(list.id, changedIn: at(0)...at(9)) == 0)
        #expect(try await store.hashListLastChange(list.id, changedIn: at(30)...at(30)) == 6)
        let page = { (window: ClosedRange<Date>, after: Int64, through: Int64, limit: Int) in
            try await store.hashListRecords(list.id, changedIn: window, after: after, through: through, limit: limit)
                .map(\.change.seq)
        }
        #expect(try await page(at(10)...at(30), 0, 6, 4) == [1, 2, 3, 4])
        #expect(try await page(at(10)...at(30), 4, 6, 4) == [5, 6])
        // A change after the window's fixed end waits for the next window.
        #expect(try await page(at(10)...at(30), 4, 5, 4) == [5])
        #expect(try await page(at(15)...at(25), 0, 6, 10) == [4, 5])
        let tombstone = try await store.hashListRecords(
            list.id, changedIn: at(30)...at(30), after: 0, through: 6, limit: 1)
        #expect(tombstone.map(\.change.op) == [.delete] && tombstone[0].change.entryId == first[0].id)
        let unknown = try await store.hashListRecords(
            .generate(), changedIn: at(0)...at(99), after: 0, through: 9, limit: 9)
        #expect(unknown.isEmpty)
    }

    static func edits(_ store: any GatewayStore) async throws {
        let list = list(grades: [.a, .b])
        try await store.insertHashList(list)
        let at = Synthetic.epoch.addingTimeInterval(10)
        let a = draft(list: list)
        let b = draft(grade: .b, list: list)
        let added = try await store.editHashList(list.id, [.add(a), .add(b), .add(a)], at: at)
        #expect(added.map(\.seq) == [1, 2, 1])
        #expect(added[0] == added[2])
        let reclassified = try await store.editHashList(
            list.id, [.reclassify(added[0].id, Category(ukGrade: .b, classification: .b1))], at: at)
        #expect(reclassified[0].seq == 3 && reclassified[0].classification.classification == .b1)
        let outOfScope = try await store.editHashList(
            list.id, [.reclassify(added[1].id, Category(ukGrade: .c))], at: at)
        #expect(outOfScope[0].deletionReason == .outOfScope && !outOfScope[0].isLive)
        let deleted = try await store.editHashList(list.id, [.delete(added[0].id, .falsePositive)], at: at)
        #expect(deleted[0].seq == 5 && deleted[0].deletedAt == at)
        let again = try await store.editHashList(list.id, [.delete(added[0].id, .duplicate)], at: at)
        #expect(again[0].seq == 5 && again[0].deletionReason == .falsePositive)
        let records = try await feed(store, list.id)
        #expect(records.map(\.change.op) == [.upsert, .upsert, .upsert, .delete, .delete])
        #expect(records.map(\.change.reason) == [nil, nil, nil, .outOfScope, .falsePositive])
        #expect(try await store.hashList(list.id)?.entryCount == 0)

        // Staff can bring a deleted file back under its old id; a case cannot.
        let restored = try await store.editHashList(list.id, [.add(a)], at: at)
        #expect(restored[0].id == added[0].id && restored[0].isLive && restored[0].seq == 6)
        #expect(try await store.hashList(list.id)?.entryCount == 1)
        var record = caseRecord(grade: .a, hashes: [Synthetic.hashes()])
        record.items[0].hashes = Hashes(md5: b.hashes.md5, sha256: b.hashes.sha256)
        _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil)
        #expect(try await store.hashList(list.id)?.lastSeq == 6)

        await #expect(throws: StoreError.notFound) {
            try await store.editHashList(list.id, [.delete(.generate(), .legal)], at: at)
        }
        await #expect(throws: StoreError.notFound) {
            try await store.editHashList(.generate(), [.add(a)], at: at)
        }
        // A failing edit in a batch leaves nothing behind.
        await #expect(throws: StoreError.notFound) {
            try await store.editHashList(list.id, [.add(draft(list: list)), .delete(.generate(), .legal)], at: at)
        }
        #expect(try await store.hashList(list.id)?.lastSeq == 6)
    }

    static func versionContents(_ store: any GatewayStore) async throws {
        let list = list()
        try await store.insertHashList(list)
        let entries = try await store.editHashList(
            list.id, (0..<5).map { _ in .add(draft(list: list)) }, at: Synthetic.epoch)
        let at5: Int64 = 5
        _ = try await store.editHashList(
            list.id,
            [.delete(entries[1].id, .duplicate), .reclassify(entries[2].id, Category(ukGrade: .b))],
            at: Synthetic.epoch)
        _ = try await store.editHashList(list.id, [.add(draft(list: list))], at: Synthetic.epoch)
        let v5 = try await feed(store, list.id, liveAt: at5)
        #expect(v5.map(\.change.entryId) == entries.map(\.id))
        #expect(v5.map(\.change.classification.ukGrade) == [.a, .a, .a, .a, .a])
        let v7 = try await feed(store, list.id, liveAt: 7)
        #expect(v7.map(\.change.entryId) == [entries[0].id, entries[3].id, entries[4].id, entries[2].id])
        #expect(v7.last?.change.classification.ukGrade == .b)
        let v8 = try await feed(store, list.id, liveAt: 8)
        #expect(v8.count == 5)
        // Chunked reads see the same records.
        let firstTwo = try await store.hashListRecords(list.id, after: 0, liveAt: 7, limit: 2)
        let rest = try await store.hashListRecords(list.id, after: firstTwo.last!.change.seq, liveAt: 7, limit: 10)
        #expect(firstTwo + rest == v7)
        let span = try await store.hashListPageSpan(list.id, after: 3, limit: 4)
        #expect(span.count == 4 && span.last == 7)
        let end = try await store.hashListPageSpan(list.id, after: 8, limit: 4)
        #expect(end.count == 0 && end.last == 8)
    }

    static func versionsAndPurge(_ store: any GatewayStore) async throws {
        let list = list()
        try await store.insertHashList(list)
        let entries = try await store.editHashList(
            list.id, [.add(draft(list: list)), .add(draft(list: list))], at: Synthetic.epoch)
        let deletedAt = Synthetic.epoch.addingTimeInterval(100)
        _ = try await store.editHashList(list.id, [.delete(entries[0].id, .falsePositive)], at: deletedAt)
        func version(_ number: Int, seq: Int64) -> HashListVersion {
            HashListVersion(
                listId: list.id, version: number, seq: seq, entryCount: 1, createdAt: Synthetic.epoch,
                expiresAt: Synthetic.epoch.addingTimeInterval(3600), manifest: Data("{\"v\":\(number)}".utf8),
                jws: "a.b.\(number)")
        }
        let later = deletedAt.addingTimeInterval(1)
        // Nothing is compacted before a version includes the deletion.
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: later) == 0)
        #expect(try await store.insertHashListVersion(version(1, seq: 2)))
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: later) == 0)
        #expect(try await store.insertHashListVersion(version(2, seq: 3)))
        #expect(try await store.insertHashListVersion(version(2, seq: 3)) == false)
        #expect(try await store.hashListVersion(list.id, number: nil) == version(2, seq: 3))
        #expect(try await store.hashListVersion(list.id, number: 1) == version(1, seq: 2))
        #expect(try await store.hashListVersions(list.id).map(\.version) == [1, 2])
        #expect(try await store.hashList(list.id)?.latestVersion == 2)
        // Not yet old enough.
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: deletedAt) == 0)
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: later) == 3)
        #expect(try await store.hashList(list.id)?.purgedThrough == 3)
        #expect(try await feed(store, list.id).map(\.change.entryId) == [entries[1].id])
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: later) == 3)
        // The file's key is remembered: a case does not bring it back.
        var record = caseRecord(grade: .a, hashes: [Synthetic.hashes()])
        record.items[0].hashes = entries[0].hashes
        _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil)
        #expect(try await store.hashList(list.id)?.lastSeq == 3)
        // Staff restore it; deleted again and published, its new tombstone is compacted in turn.
        let draft = HashEntryDraft(
            key: entries[0].hashes.entryKey(for: list.hashTypes)!, mediaType: .image, hashes: entries[0].hashes,
            classification: Category(ukGrade: .a), caseId: nil)
        let restored = try await store.editHashList(list.id, [.add(draft)], at: later)
        #expect(restored[0].id == entries[0].id && restored[0].seq == 4)
        _ = try await store.editHashList(list.id, [.delete(entries[0].id, .legal)], at: later)
        #expect(try await store.insertHashListVersion(version(3, seq: 5)))
        #expect(try await store.purgeHashListTombstones(list.id, deletedBefore: later.addingTimeInterval(1)) == 5)
        #expect(try await feed(store, list.id).map(\.change.entryId) == [entries[1].id])
    }

    static func activity(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store)
        let list = list(partners: [partner.id])
        try await store.insertHashList(list)
        let entries = try await store.editHashList(
            list.id, [.add(draft(list: list)), .add(draft(list: list))], at: Synthetic.epoch)
        let download = HashListDownload(
            listId: list.id, version: 1, format: "text", hash: .md5, partnerId: partner.id, tokenId: .generate(),
            actor: "partner:\(partner.id)", bytes: 1234, gzip: true, at: Synthetic.epoch)
        try await store.recordHashListDownload(download)
        var staff = download
        staff.partnerId = nil
        staff.format = "manifest"
        staff.hash = nil
        try await store.recordHashListDownload(staff)
        let rows = try await store.hashListDownloads(list.id, after: 0, limit: 10)
        #expect(rows.map(\.download) == [download, staff])
        #expect(
            try await store.hashListDownloads(list.id, after: rows[0].position, limit: 10).map(\.download) == [staff])

        func feedback(_ entry: HashEntryID) -> HashListFeedback {
            HashListFeedback(
                id: .generate(), listId: list.id, entryId: entry, partnerId: partner.id, verdict: .falsePositive,
                comment: "looks like a logo", createdAt: Synthetic.epoch)
        }
        let first = feedback(entries[0].id)
        let second = feedback(entries[0].id)
        let third = feedback(entries[1].id)
        for item in [first, second, third] { try await store.insertHashListFeedback(item) }
        let open = try await store.hashListFeedback(list.id, status: .open, partner: nil, after: 0, limit: 100)
        #expect(open.map(\.feedback) == [first, second, third])
        #expect(open.map(\.position) == open.map(\.position).sorted())
        let firstPage = try await store.hashListFeedback(list.id, status: .open, partner: nil, after: 0, limit: 2)
        #expect(firstPage.map(\.feedback) == [first, second])
        let secondPage = try await store.hashListFeedback(
            list.id, status: .open, partner: nil, after: firstPage[1].position, limit: 2)
        #expect(secondPage.map(\.feedback) == [third])
        #expect(
            try await store.hashListFeedback(list.id, status: nil, partner: .generate(), after: 0, limit: 100).isEmpty)

        let at = Synthetic.epoch.addingTimeInterval(50)
        let resolved = try await store.resolveHashListFeedback(
            list.id, first.id, deleteWith: .falsePositive, note: "confirmed logo", by: "admin:test", at: at)
        #expect(resolved.status == .deleted && resolved.resolvedAt == at && resolved.note == "confirmed logo")
        #expect(try await store.hashListEntry(list.id, entries[0].id)?.deletionReason == .falsePositive)
        // Every open report on the deleted entry is settled with it.
        #expect(
            try await store.hashListFeedback(list.id, status: .open, partner: nil, after: 0, limit: 100).map(\.feedback)
                == [third])
        await #expect(throws: StoreError.self) {
            try await store.resolveHashListFeedback(
                list.id, second.id, deleteWith: nil, note: nil, by: "admin:test", at: at)
        }
        let kept = try await store.resolveHashListFeedback(
            list.id, third.id, deleteWith: nil, note: nil, by: "admin:test", at: at)
        #expect(kept.status == .kept && kept.resolvedBy == "admin:test")
        #expect(try await store.hashListEntry(list.id, entries[1].id)?.isLive == true)
        #expect(try await store.hashList(list.id)?.lastSeq == 3)
        await #expect(throws: StoreError.notFound) {
            try await store.resolveHashListFeedback(
                list.id, .generate(), deleteWith: nil, note: nil, by: "admin:test", at: at)
        }
    }

    static func grants(_ store: any GatewayStore) async throws {
        let first = try await StoreConformance.insertedPartner(store, domains: ["one.example.com"])
        let second = try await StoreConformance.insertedPartner(store, domains: ["two.example.com"])
        let shared = list("Shared", partners: [first.id, second.id])
        let own = list("Own", partners: [first.id])
        try await store.insertHashList(shared)
        try await store.insertHashList(own)
        #expect(try await store.hashLists(grantedTo: nil).map(\.id) == [shared.id, own.id])
        #expect(try await store.hashLists(grantedTo: first.id).map(\.id) == [shared.id, own.id])
        #expect(try await store.hashLists(grantedTo: second.id).map(\.id) == [shared.id])
        var changed = own
        changed.name = "Own, renamed"
        changed.partners = [second.id]
        changed.updatedAt = Synthetic.epoch.addingTimeInterval(5)
        try await store.updateHashList(changed)
        #expect(try await store.hashLists(grantedTo: first.id).map(\.id) == [shared.id])
        let stored = try #require(try await store.hashList(own.id))
        #expect(
            stored.name == "Own, renamed" && stored.partners == [second.id] && stored.updatedAt == changed.updatedAt)
        await #expect(throws: StoreError.self) { try await store.insertHashList(list("Shared")) }
        await #expect(throws: StoreError.notFound) { try await store.updateHashList(list("Ghost")) }
    }
}
