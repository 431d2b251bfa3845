import Foundation
import TakedownModel

/// Hash lists: entries, their change log, published versions, downloads and feedback.
///
/// Every change to a list gets the list's next sequence number in the transaction that makes it. The
/// change log is the feed; a version is a sequence number, and its contents are the changes up to it
/// that no later change up to it replaced, so versions need no copy of the list.
public protocol HashListStore: Sendable {
    /// Writes a list with its grants and, in the same transaction, every entry that the cases already
    /// stored contribute to it.
    func insertHashList(_ list: HashList) async throws
    func hashList(_ id: HashListID) async throws -> HashList?
    /// Every list, or only those granted to a partner.
    func hashLists(grantedTo partner: PartnerID?) async throws -> [HashList]
    /// Replaces a list's name and grants. Throws `notFound` when it does not exist.
    func updateHashList(_ list: HashList) async throws
    func hashListEntry(_ list: HashListID, _ entry: HashEntryID) async throws -> HashListEntry?
    /// The ids of a list's entries (live or deleted) that have carried a hash of this value in any column,
    /// at most `limit`, oldest first: a look-up by hash, not a hot path.
    func hashListEntryIDs(_ list: HashListID, hash: String, limit: Int) async throws -> [HashEntryID]
    /// Applies staff edits in order in one transaction and returns the entries as they end up (edits that
    /// change nothing return the entry unchanged). Throws `notFound` for an unknown entry.
    func editHashList(_ list: HashListID, _ edits: [HashListEdit], at: Date) async throws -> [HashListEntry]
    /// Change records after `seq`, oldest first. With `liveAt`, only the upserts still current at that
    /// sequence number and none after it: the contents of a version.
    func hashListRecords(_ list: HashListID, after seq: Int64, liveAt: Int64?, limit: Int) async throws
        -> [HashListRecord]
    /// The sequence number span of the first `limit` records after `seq`: (count, last seq).
    func hashListPageSpan(_ list: HashListID, after seq: Int64, limit: Int) async throws -> (count: Int, last: Int64)
    /// Change records made within `window` with a sequence number in `(after, through]`, oldest first: one
    /// page of a time window of the log, as NCMEC's entries API pages it (`through` fixed at its first page).
    /// Their `line` is empty: the dialect writes its own.
    func hashListRecords(
        _ list: HashListID, changedIn window: ClosedRange<Date>, after seq: Int64, through last: Int64, limit: Int
    ) async throws -> [HashListRecord]
    /// The newest sequence number of a change made within `window`; 0 when there is none.
    func hashListLastChange(_ list: HashListID, changedIn window: ClosedRange<Date>) async throws -> Int64

    /// Stores a version unless that number exists; false when another writer published it first.
    func insertHashListVersion(_ version: HashListVersion) async throws -> Bool
    /// A version by number, or the newest when `number` is nil.
    func hashListVersion(_ list: HashListID, number: Int?) async throws -> HashListVersion?
    func hashListVersions(_ list: HashListID) async throws -> [HashListVersion]
    /// Drops tombstones (and the entry's earlier changes) deleted before `deletedBefore` and included in
    /// the newest version; returns the list's new `purgedThrough`.
    func purgeHashListTombstones(_ list: HashListID, deletedBefore: Date) async throws -> Int64

    func recordHashListDownload(_ download: HashListDownload) async throws
    /// Downloads in the order recorded, after a position, with their positions.
    func hashListDownloads(_ list: HashListID, after position: Int64, limit: Int) async throws
        -> [(position: Int64, download: HashListDownload)]

    func insertHashListFeedback(_ feedback: HashListFeedback) async throws
    /// A page of feedback after a position, oldest first.
    func hashListFeedback(
        _ list: HashListID, status: HashListFeedback.Status?, partner: PartnerID?, after position: Int64, limit: Int
    ) async throws -> [(position: Int64, feedback: HashListFeedback)]
    /// Resolves open feedback: kept, or deleted with the entry (and every other open feedback on it) in one
    /// transaction. Throws `conflict` when it was resolved already, `notFound` when it does not exist.
    func resolveHashListFeedback(
        _ list: HashListID, _ id: FeedbackID, deleteWith reason: DeletionReason?, note: String?, by actor: String,
        at: Date
    ) async throws -> HashListFeedback
}
