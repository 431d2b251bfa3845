import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The hash-list sources part of the storage contract: pages taken in once, fenced by the claim.
public enum SourceConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "a source's pages change its list once: added, updated, deleted, restored, older or repeated ignored":
            pages,
        "sources are claimed when due, one claim at a time, and a lapsed claim loses its writes": claims,
        "a page naming one entry several times takes its changes in order": repeatedInPage,
    ]

    static func repeatedInPage(_ store: any GatewayStore) async throws {
        let list = HashListConformance.list("Repeated")
        try await store.insertHashList(list)
        let source = source(list)
        try await store.insertHashListSource(source)
        let claim = try #require(try await store.claimHashListSource(now: Synthetic.epoch, lease: 600))
        let now = Synthetic.epoch.addingTimeInterval(60)
        var state = claim.source.state
        state.window = SourceWindow(from: Synthetic.epoch, to: now, next: "/v2/entries?start=9")
        let hashes = Synthetic.hashes()
        let page = [
            change("7", hashes, at: 10), change("8", Synthetic.hashes(), at: 10),
            change("7", hashes, at: 11, classification: .a2), change("7", Hashes(), at: 12, deleted: true),
            change("7", hashes, at: 13, classification: .b1), change("8", Hashes(), at: 14, deleted: true),
        ]
        let counts = try #require(
            try await store.applyHashListSourcePage(claim, page, state: state, at: now, leaseUntil: now + 600))
        #expect(counts == SourceCounts(pages: 1, added: 3, updated: 1, deleted: 2))
        let feed = try await HashListConformance.feed(store, list.id)
        #expect(feed.map(\.change.seq) == [1, 2, 3, 4, 5, 6])
        #expect(feed.map(\.change.op) == [.upsert, .upsert, .upsert, .delete, .upsert, .delete])
        #expect(Set([feed[0], feed[2], feed[3], feed[4]].map(\.change.entryId)).count == 1)
        let seven = try #require(try await store.hashListEntry(list.id, feed[0].change.entryId))
        #expect(seven.isLive && seven.seq == 5 && seven.classification.classification == .b1)
        let eight = try #require(try await store.hashListEntry(list.id, feed[1].change.entryId))
        #expect(!eight.isLive && eight.seq == 6)
        #expect(try await store.hashList(list.id)?.entryCount == 1)
        // Every change but the last of each entry is superseded: the live export holds entry 7's last state.
        #expect(try await store.hashListRecords(list.id, after: 0, liveAt: 6, limit: 10).map(\.change.seq) == [5])
        // The page again: every change is older than or as old as what was taken (an older change ignored
        // must not move the entry's source time back and let the next one through).
        let again = try #require(
            try await store.applyHashListSourcePage(claim, page, state: state, at: now, leaseUntil: now + 600))
        #expect(again == SourceCounts(pages: 1, unchanged: 6))
        #expect(try await store.hashList(list.id)?.lastSeq == 6)
    }

    static func source(_ list: HashList, at now: Date = Synthetic.epoch) -> HashListSource {
        HashListSource(
            id: .generate(), listId: list.id, name: "Peer hotline", baseURL: "https://peer.example.com/ncmec",
            username: "ptn_peer", password: "s3cret-\(Synthetic.hex(8))", ukGrade: .a, intervalSeconds: 3600,
            overlapSeconds: 300, createdAt: now, state: SourceState(nextPullAt: now))
    }

    static func change(
        _ id: String, _ hashes: Hashes, at offset: TimeInterval, deleted: Bool = false,
        classification: IndustryClassification? = .a1, media: MediaType = .image, reason: DeletionReason? = nil
    ) -> SourceChange {
        SourceChange(
            remoteId: id, member: 42, mediaType: media, deleted: deleted,
            timestamp: Synthetic.epoch.addingTimeInterval(offset), classification: classification,
            hashes: deleted ? Hashes() : hashes, reason: reason)
    }

    static func pages(_ store: any GatewayStore) async throws {
        let list = HashListConformance.list("Imported")
        try await store.insertHashList(list)
        let source = source(list)
        try await store.insertHashListSource(source)
        #expect(try await store.hashListSource(source.id) == source)
        let claim = try #require(try await store.claimHashListSource(now: Synthetic.epoch, lease: 600))
        #expect(claim.source.id == source.id)
        #expect(try await store.claimHashListSource(now: Synthetic.epoch, lease: 600) == nil)

        let one = Synthetic.hashes()
        let two = Synthetic.hashes()
        let now = Synthetic.epoch.addingTimeInterval(60)
        var state = claim.source.state
        state.window = SourceWindow(from: Synthetic.epoch, to: now, next: "/v2/entries?start=3")
        let first = [
            change("1", one, at: 10), change("2", two, at: 11, media: .video),
            change("3", Hashes(), at: 12, deleted: true),
            // SHA-1 alone: none of the list's hash types.
            change("4", Hashes(sha1: Synthetic.hex(40)), at: 13),
        ]
        let counts = try #require(
            try await store.applyHashListSourcePage(claim, first, state: state, at: now, leaseUntil: now + 600))
        #expect(counts == SourceCounts(pages: 1, added: 2, unchanged: 2))
        var feed = try await HashListConformance.feed(store, list.id)
        #expect(feed.count == 2)
        #expect(
            feed.map(\.change.origin) == [
                EntryOrigin(source: source.id, member: 42, id: "1"),
                EntryOrigin(source: source.id, member: 42, id: "2"),
            ])
        #expect(feed[0].change.hashes == Hashes(md5: one.md5, sha256: one.sha256))
        #expect(feed[0].change.classification == Category(ukGrade: .a, classification: .a1))
        #expect(feed[1].change.mediaType == .video)
        // The origin is part of the feed line, so exports carry it.
        #expect(String(decoding: feed[0].line, as: UTF8.self).contains("\"origin\":{"))
        let entry = try #require(try await store.hashListEntry(list.id, feed[0].change.entryId))
        #expect(entry.origin == EntryOrigin(source: source.id, member: 42, id: "1"))
        var stored = try #require(try await store.hashListSource(source.id))
        #expect(stored.state.window?.next == "/v2/entries?start=3" && stored.state.counts == counts)

        // The same page again (windows overlap): nothing changes, nothing is counted twice as a change.
        let again = try #require(
            try await store.applyHashListSourcePage(claim, first, state: state, at: now, leaseUntil: now + 600))
        #expect(again == SourceCounts(pages: 1, unchanged: 4))
        #expect(try await store.hashList(list.id)?.lastSeq == 2)

        // Reclassified, deleted with its reason, and a stale change of the first (older than what was taken).
        let second = [
            change("1", one, at: 20, classification: .a2),
            change("2", Hashes(), at: 21, deleted: true, reason: .falsePositive),
            change("1", Synthetic.hashes(), at: 15),
        ]
        let later = try #require(
            try await store.applyHashListSourcePage(claim, second, state: state, at: now, leaseUntil: now + 600))
        #expect(later == SourceCounts(pages: 1, updated: 1, deleted: 1, unchanged: 1))
        feed = try await HashListConformance.feed(store, list.id)
        #expect(feed.count == 4)
        #expect(feed[2].change.classification.classification == .a2 && feed[2].change.entryId == feed[0].change.entryId)
        #expect(feed[3].change.op == .delete && feed[3].change.reason == .falsePositive)
        #expect(feed[3].change.origin?.id == "2")
        #expect(try await store.hashList(list.id)?.entryCount == 1)

        // A tombstone without a reason, then the entry back again (restored, same entry id).
        let third = [
            change("1", Hashes(), at: 30, deleted: true), change("2", two, at: 31),
        ]
        var last = state
        last.window = nil
        last.syncedThrough = now
        let restored = try #require(
            try await store.applyHashListSourcePage(claim, third, state: last, at: now, leaseUntil: nil))
        #expect(restored == SourceCounts(pages: 1, added: 1, deleted: 1))
        feed = try await HashListConformance.feed(store, list.id)
        #expect(feed[4].change.reason == .sourceDeleted)
        #expect(feed[5].change.op == .upsert && feed[5].change.entryId == feed[1].change.entryId)
        #expect(try await store.hashList(list.id)?.entryCount == 1)
        stored = try #require(try await store.hashListSource(source.id))
        #expect(stored.state.window == nil && stored.state.syncedThrough == now)
        #expect(stored.state.counts == SourceCounts(pages: 4, added: 3, updated: 1, deleted: 2, unchanged: 7))
        // Released with the last page: the claim no longer writes, and the source is claimable once due.
        #expect(try await store.applyHashListSourcePage(claim, second, state: state, at: now, leaseUntil: nil) == nil)
        #expect(try await store.updateHashListSourceState(claim, state, release: true) == false)
        #expect(try await store.hashList(list.id)?.lastSeq == 6)
    }

    static func claims(_ store: any GatewayStore) async throws {
        let list = HashListConformance.list("Peers")
        let other = HashListConformance.list("Others")
        try await store.insertHashList(list)
        try await store.insertHashList(other)
        let later = Synthetic.epoch.addingTimeInterval(3600)
        var first = source(list, at: Synthetic.epoch)
        first.state.nextPullAt = later
        let second = source(other, at: Synthetic.epoch)
        try await store.insertHashListSource(first)
        try await store.insertHashListSource(second)
        #expect(try await store.hashListSources(list.id).map(\.id) == [first.id])
        await #expect(throws: StoreError.notFound) {
            try await store.insertHashListSource(source(HashListConformance.list("Missing")))
        }
        await #expect(throws: StoreError.notFound) {
            try await store.scheduleHashListSourcePull(.generate(), at: Synthetic.epoch)
        }

        // Only the due one is claimed; the other becomes due on request.
        let now = Synthetic.epoch.addingTimeInterval(10)
        let claim = try #require(try await store.claimHashListSource(now: now, lease: 30))
        #expect(claim.source.id == second.id)
        #expect(try await store.claimHashListSource(now: now, lease: 30) == nil)
        try await store.scheduleHashListSourcePull(first.id, at: now)
        #expect(try await store.hashListSource(first.id)?.state.nextPullAt == now)
        let onRequest = try #require(try await store.claimHashListSource(now: now, lease: 30))
        #expect(onRequest.source.id == first.id)

        // The lease runs out: another claim takes the source, and the first one's writes are refused.
        #expect(try await store.claimHashListSource(now: now + 20, lease: 30) == nil)
        let takeover = try #require(try await store.claimHashListSource(now: now + 41, lease: 30))
        #expect(takeover.token != claim.token)
        let change = change("9", Synthetic.hashes(), at: 5)
        #expect(
            try await store.applyHashListSourcePage(
                claim, [change], state: claim.source.state, at: now, leaseUntil: now + 60) == nil)
        #expect(try await store.hashList(other.id)?.lastSeq == 0)
        var failed = takeover.source.state
        failed.lastError = "page /v2/entries: not well-formed"
        failed.nextPullAt = now + 300
        #expect(try await store.updateHashListSourceState(takeover, failed, release: true))
        let after = try #require(try await store.hashListSource(second.id))
        #expect(after.state.lastError == failed.lastError && after.state.nextPullAt == now + 300)
        // The failed one waits for its retry time; the other (its claim lapsed) is taken meanwhile.
        #expect(try await store.claimHashListSource(now: now + 60, lease: 1000)?.source.id == first.id)
        #expect(try await store.claimHashListSource(now: now + 301, lease: 30)?.source.id == second.id)
    }
}
