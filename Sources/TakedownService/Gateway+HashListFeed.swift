import Foundation
import Logging
import TakedownModel
import TakedownStore

/// One page of a list's change feed: NDJSON lines and where to continue.
public struct HashListFeedPage: Sendable {
    public var lines: [Data]
    public var nextCursor: String
    public var hasMore: Bool
    /// Names this answer: the same records with the same continuation have the same tag.
    public var tag: String
}

/// A feed request's answer: the page, or only its tag when the client holds it already.
public enum HashListFeedResult: Sendable {
    case unchanged(tag: String, nextCursor: String, hasMore: Bool)
    case page(HashListFeedPage)
}

extension HashListDesk {
    /// Changes after a cursor (from the start without one). A cursor from before compacted tombstones gets
    /// 410, telling the client to load the latest version and follow the feed from its cursor. When `held`
    /// says the client holds the answer's tag already, the records are not read.
    public func changes(
        of id: HashListID, after cursor: String?, limit: Int, held: (String) -> Bool = { _ in false },
        for principal: Principal
    ) async throws -> HashListFeedResult {
        let list = try await hashList(id, for: principal)
        let after = try Gateway.position(after: cursor)
        if after > 0, after < list.purgedThrough {
            let latest = try await store.hashListVersion(id, number: nil)
            throw GatewayError.gone(
                "changes up to seq \(list.purgedThrough) were compacted (tombstones are kept "
                    + "\(configuration.hashLists.tombstoneRetentionDays) days); load version "
                    + "\(latest.map { String($0.version) } ?? "latest") and follow this feed from its manifest's feed_cursor "
                    + "\(latest.map { Cursor.encode($0.seq) } ?? "")")
        }
        let span = try await store.hashListPageSpan(id, after: after, limit: limit)
        // The same records with more behind them is another answer (`Takedown-Has-More` differs).
        let hasMore = span.count == limit && span.last < list.lastSeq
        let tag = String(
            sha256Hex(
                Data("\(id)|\(after)|\(limit)|\(span.count)|\(span.last)|\(hasMore)|\(list.purgedThrough)".utf8)
            ).prefix(40))
        if held(tag) {
            return .unchanged(tag: tag, nextCursor: Cursor.encode(span.last), hasMore: hasMore)
        }
        let records = try await store.hashListRecords(id, after: after, liveAt: nil, limit: limit)
        let last = records.last?.change.seq ?? after
        return .page(
            HashListFeedPage(
                lines: records.map(\.line), nextCursor: Cursor.encode(last), hasMore: hasMore, tag: tag))
    }

    /// Notes who downloaded what of a version.
    public func recordDownload(
        of version: HashListVersion, format: String, hash: HashType?, bytes: Int64, gzip: Bool, by principal: Principal
    ) async throws {
        try await store.recordHashListDownload(
            HashListDownload(
                listId: version.listId, version: version.version, format: format, hash: hash,
                partnerId: principal.partnerID, tokenId: principal.tokenID, actor: principal.actor, bytes: bytes,
                gzip: gzip, at: clock()))
    }

    /// A page of a list's downloads, oldest first, and the cursor after it.
    public func downloads(of id: HashListID, after cursor: String?, limit: Int) async throws -> (
        [HashListDownload], nextCursor: String
    ) {
        _ = try await hashList(id)
        let after = try Gateway.position(after: cursor)
        let rows = try await store.hashListDownloads(id, after: after, limit: limit)
        return (rows.map(\.download), Cursor.encode(rows.last?.position ?? after))
    }

    /// Publishes changed lists whose newest version is older than the publishing interval, and compacts
    /// tombstones past retention. Safe on every instance: a version number is taken once.
    @discardableResult
    public func maintainHashLists() async throws -> (published: Int, purged: Int) {
        let settings = configuration.hashLists
        var published = 0
        var purged = 0
        for list in try await store.hashLists(grantedTo: nil) {
            let interval = settings.publishInterval(of: list.kind)
            if interval > 0 {
                let latest = try await store.hashListVersion(list.id, number: nil)
                let changed = list.lastSeq > (latest?.seq ?? 0)
                let due = latest.map { clock().timeIntervalSince($0.createdAt) >= interval } ?? true
                if changed, due, try await publishHashList(list.id).created { published += 1 }
            }
            let cutoff = clock().addingTimeInterval(-Double(settings.tombstoneRetentionDays) * 86_400)
            if try await store.purgeHashListTombstones(list.id, deletedBefore: cutoff) > list.purgedThrough {
                purged += 1
            }
        }
        return (published, purged)
    }
}
