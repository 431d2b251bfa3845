import Foundation
import TakedownModel

/// The sources that lists take partners' entries from, and the pages they bring.
///
/// A pull holds a claim (a token and a lease): every write of it is fenced by the token, so an instance
/// whose lease ran out (it stalled, or was killed and its claim expired) cannot move the source after
/// another one took it over.
public protocol HashListSourceStore: Sendable {
    /// Writes a new source with its password sealed. Throws `notFound` for an unknown list.
    func insertHashListSource(_ source: HashListSource) async throws
    func hashListSource(_ id: SourceID) async throws -> HashListSource?
    /// A list's sources, oldest first.
    func hashListSources(_ list: HashListID) async throws -> [HashListSource]
    /// Makes a source due at `at` (a pull on request). Throws `notFound`.
    func scheduleHashListSourcePull(_ id: SourceID, at: Date) async throws
    /// Claims the source due longest ago (`next_pull_at` passed, no claim held), or nil.
    func claimHashListSource(now: Date, lease: TimeInterval) async throws -> SourceClaim?
    /// Applies one page's changes to the source's list and stores the source's new state, in one
    /// transaction: `state` as given, its counts increased by what the page did. Returns what the page
    /// did, or nil (and changes nothing) when the claim was lost; the lease is extended to `leaseUntil`, or released when that is nil.
    func applyHashListSourcePage(
        _ claim: SourceClaim, _ changes: [SourceChange], state: SourceState, at: Date, leaseUntil: Date?
    ) async throws -> SourceCounts?
    /// Stores the source's state (counts are kept as stored) and, with `release`, gives up the claim.
    /// False when the claim was lost.
    func updateHashListSourceState(_ claim: SourceClaim, _ state: SourceState, release: Bool) async throws -> Bool
}

/// A source claimed for one pull.
public struct SourceClaim: Sendable, Equatable {
    public var source: HashListSource
    public var token: String

    public init(source: HashListSource, token: String) {
        self.source = source
        self.token = token
    }
}

/// What one source change does to a list, decided alike by every store from the entry its key names now.
public enum SourceImport: Equatable {
    /// The list stays as it is: the change is older than what the list holds, repeats it, is a tombstone of
    /// an entry it does not have, or carries none of the list's hash types.
    case unchanged
    /// A new entry (or a deleted one brought back, as `.restore`).
    case add(HashEntryDraft, EntryOrigin)
    case restore(HashListEntry)
    case update(HashListEntry)
    case delete(HashListEntry)

    /// `existing` is the entry with the change's key, `remoteAt` the source time of its last change taken.
    public static func decide(
        _ change: SourceChange, source: HashListSource, hashTypes: [HashType], existing: HashListEntry?,
        remoteAt: Date?, now: Date
    ) -> SourceImport {
        if let remoteAt, change.timestamp < remoteAt { return .unchanged }
        if change.deleted {
            guard var entry = existing, entry.isLive else { return .unchanged }
            entry.deletedAt = now
            entry.deletionReason = change.reason ?? .sourceDeleted
            entry.updatedAt = now
            return .delete(entry)
        }
        let hashes = change.hashes.restricted(to: hashTypes)
        let category = Category(ukGrade: source.ukGrade, classification: change.classification)
        let key = change.key(from: source.id)
        guard hashes.entryKey(for: hashTypes) != nil else { return .unchanged }
        let origin = EntryOrigin(source: source.id, member: change.member, id: change.remoteId)
        guard var entry = existing else {
            return .add(
                HashEntryDraft(
                    key: key, mediaType: change.mediaType, hashes: hashes, classification: category, caseId: nil),
                origin)
        }
        if entry.isLive, entry.hashes == hashes, entry.classification == category, entry.mediaType == change.mediaType {
            return .unchanged
        }
        let restoring = !entry.isLive
        entry.hashes = hashes
        entry.classification = category
        entry.mediaType = change.mediaType
        entry.updatedAt = now
        entry.deletedAt = nil
        entry.deletionReason = nil
        entry.origin = origin
        return restoring ? .restore(entry) : .update(entry)
    }

    /// The page counts this outcome adds to.
    public var counts: SourceCounts {
        switch self {
        case .unchanged: SourceCounts(unchanged: 1)
        case .add, .restore: SourceCounts(added: 1)
        case .update: SourceCounts(updated: 1)
        case .delete: SourceCounts(deleted: 1)
        }
    }
}
