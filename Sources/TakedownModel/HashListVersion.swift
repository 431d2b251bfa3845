import Foundation

/// A published, frozen state of a list: every entry live at `seq`, with its signed manifest.
public struct HashListVersion: Sendable, Equatable {
    public var listId: HashListID
    public var version: Int
    /// The list's last change included in this version.
    public var seq: Int64
    public var entryCount: Int
    public var createdAt: Date
    public var expiresAt: Date
    /// The manifest's canonical JSON (the JWS payload), byte for byte.
    public var manifest: Data
    public var jws: String

    public init(
        listId: HashListID, version: Int, seq: Int64, entryCount: Int, createdAt: Date, expiresAt: Date,
        manifest: Data, jws: String
    ) {
        self.listId = listId
        self.version = version
        self.seq = seq
        self.entryCount = entryCount
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.manifest = manifest
        self.jws = jws
    }
}

/// The export formats of a version.
public enum ExportFormat: String, Codable, Sendable, CaseIterable {
    case ndjson
    case csv
    case text
    case vics
}

/// One file of a version: a format and, for `text`, the hash type on each line.
public struct ExportKind: Codable, Sendable, Hashable {
    public var format: ExportFormat
    public var hash: HashType?

    public init(format: ExportFormat, hash: HashType? = nil) {
        self.format = format
        self.hash = hash
    }

    /// Every file a list's versions offer: NDJSON, CSV, a text file per hash type and, when the list
    /// carries MD5 (the VICS key), VICS.
    public static func all(for list: HashList) -> [ExportKind] {
        var kinds = [ExportKind(format: .ndjson), ExportKind(format: .csv)]
        // A URL list's text file is its URLs, one a line.
        if list.kind == .urls { return kinds + [ExportKind(format: .text)] }
        kinds += list.hashTypes.sorted().map { ExportKind(format: .text, hash: $0) }
        if list.hashTypes.contains(.md5) { kinds.append(ExportKind(format: .vics)) }
        return kinds
    }
}

/// One download of a version's manifest or export.
public struct HashListDownload: Codable, Sendable, Equatable {
    public var listId: HashListID
    public var version: Int
    /// `manifest` or an export format.
    public var format: String
    public var hash: HashType?
    /// The partner who downloaded, or nil for staff.
    public var partnerId: PartnerID?
    public var tokenId: TokenID
    public var actor: String
    /// Bytes sent (compressed when gzip).
    public var bytes: Int64
    public var gzip: Bool
    public var at: Date

    public init(
        listId: HashListID, version: Int, format: String, hash: HashType?, partnerId: PartnerID?, tokenId: TokenID,
        actor: String, bytes: Int64, gzip: Bool, at: Date
    ) {
        self.listId = listId
        self.version = version
        self.format = format
        self.hash = hash
        self.partnerId = partnerId
        self.tokenId = tokenId
        self.actor = actor
        self.bytes = bytes
        self.gzip = gzip
        self.at = at
    }
}

/// A partner's opinion of an entry, for staff to review.
public struct HashListFeedback: Codable, Sendable, Equatable {
    /// The feedback as its partner sees it: the staff's note and name are internal.
    public var seenByPartner: HashListFeedback {
        var feedback = self
        feedback.note = nil
        if feedback.resolvedBy != nil { feedback.resolvedBy = "hotline" }
        return feedback
    }

    public enum Verdict: String, Codable, Sendable, CaseIterable {
        case falsePositive = "false_positive"
        case confirmed
    }

    public enum Status: String, Codable, Sendable, CaseIterable {
        case open
        case kept
        case deleted
    }

    public var id: FeedbackID
    public var listId: HashListID
    public var entryId: HashEntryID
    public var partnerId: PartnerID?
    public var verdict: Verdict
    public var comment: String?
    public var createdAt: Date
    public var status: Status
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var note: String?

    public init(
        id: FeedbackID, listId: HashListID, entryId: HashEntryID, partnerId: PartnerID?, verdict: Verdict,
        comment: String?, createdAt: Date, status: Status = .open
    ) {
        self.id = id
        self.listId = listId
        self.entryId = entryId
        self.partnerId = partnerId
        self.verdict = verdict
        self.comment = comment
        self.createdAt = createdAt
        self.status = status
    }
}

/// Compaction of a list's log: which tombstones may go, and how far the log is then purged.
///
/// A tombstone may be dropped (with its entry's earlier changes) once it is older than the retention cut
/// and a published version already carries it: a client synchronising from any version still kept learns of
/// the deletion, and one older than `purgedThrough` is told to resynchronise.
public struct TombstonePurge: Sendable, Equatable {
    /// Tombstones deleted before this are old enough to go.
    public var deletedBefore: Date
    /// The change sequence of the newest published version; nil when none is published (nothing goes).
    public var publishedThrough: Int64?

    public init(deletedBefore: Date, publishedThrough: Int64?) {
        self.deletedBefore = deletedBefore
        self.publishedThrough = publishedThrough
    }

    /// Whether a tombstone deleted at `deletedAt`, as change `seq`, goes.
    public func purges(deletedAt: Date, seq: Int64) -> Bool {
        guard let publishedThrough else { return false }
        return deletedAt < deletedBefore && seq <= publishedThrough
    }

    /// The list's `purgedThrough` after purging tombstones at `seqs`: it only moves forward.
    public static func purgedThrough(_ current: Int64, after seqs: [Int64]) -> Int64 {
        seqs.reduce(current, max)
    }
}
