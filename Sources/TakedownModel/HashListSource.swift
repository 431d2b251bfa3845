import Foundation

public struct SourceID: PrefixedIdentifier {
    public static let prefix = "src_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// A partner's list that one of ours takes in: an NCMEC hash-sharing v2 endpoint (NCMEC itself, or another
/// gateway's list under its `/ncmec` base URL) pulled on a schedule, in time windows that overlap.
public struct HashListSource: Codable, Sendable, Equatable {
    public var id: SourceID
    public var listId: HashListID
    public var name: String
    /// The endpoint's base URL, under which `/v2/entries` is read (`https://report.cybertip.org/hashsharing`).
    public var baseURL: String
    /// HTTP Basic credentials; the store seals the password like a webhook secret.
    public var username: String
    public var password: String
    /// The UK grade given to the entries taken in (the dialect carries only the industry classification);
    /// a grade the list takes.
    public var ukGrade: UKGrade
    /// Seconds between scheduled pulls.
    public var intervalSeconds: Int
    /// Seconds each new window reaches back before the end of the last one, for changes the source
    /// recorded late.
    public var overlapSeconds: Int
    public var createdAt: Date
    public var state: SourceState

    public init(
        id: SourceID, listId: HashListID, name: String, baseURL: String, username: String, password: String,
        ukGrade: UKGrade, intervalSeconds: Int, overlapSeconds: Int, createdAt: Date, state: SourceState
    ) {
        self.id = id
        self.listId = listId
        self.name = name
        self.baseURL = baseURL
        self.username = username
        self.password = password
        self.ukGrade = ukGrade
        self.intervalSeconds = intervalSeconds
        self.overlapSeconds = overlapSeconds
        self.createdAt = createdAt
        self.state = state
    }
}

/// Where a source's pulls stand. The position moves only in the transaction that stores a page's changes,
/// so a pull that stops anywhere resumes at the first page not stored.
public struct SourceState: Codable, Sendable, Equatable {
    /// The end of the last window read to its last page: the next window starts `overlap` before it.
    public var syncedThrough: Date?
    /// The window being read, and the link of its next page (relative to the base URL).
    public var window: SourceWindow?
    public var nextPullAt: Date
    public var lastPullAt: Date?
    public var lastSuccessAt: Date?
    public var lastError: String?
    public var lastErrorAt: Date?
    public var counts: SourceCounts

    public init(
        syncedThrough: Date? = nil, window: SourceWindow? = nil, nextPullAt: Date, lastPullAt: Date? = nil,
        lastSuccessAt: Date? = nil, lastError: String? = nil, lastErrorAt: Date? = nil,
        counts: SourceCounts = SourceCounts()
    ) {
        self.syncedThrough = syncedThrough
        self.window = window
        self.nextPullAt = nextPullAt
        self.lastPullAt = lastPullAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.counts = counts
    }
}

/// A window of the source's changes being read page by page.
public struct SourceWindow: Codable, Sendable, Equatable {
    public var from: Date
    public var to: Date
    /// The next page's link as the source gave it, relative to the base URL; nil before the first page.
    public var next: String?

    public init(from: Date, to: Date, next: String?) {
        self.from = from
        self.to = to
        self.next = next
    }
}

/// What a source's pulls have done to the list, since the source was added.
public struct SourceCounts: Codable, Sendable, Equatable {
    public var pages: Int64 = 0
    public var added: Int64 = 0
    public var updated: Int64 = 0
    public var deleted: Int64 = 0
    /// Changes that left the list as it was: seen before (windows overlap), older than what the list
    /// holds, a tombstone for an entry it never had, or an entry without a hash type the list carries.
    public var unchanged: Int64 = 0

    public init(pages: Int64 = 0, added: Int64 = 0, updated: Int64 = 0, deleted: Int64 = 0, unchanged: Int64 = 0) {
        self.pages = pages
        self.added = added
        self.updated = updated
        self.deleted = deleted
        self.unchanged = unchanged
    }

    public static func + (a: SourceCounts, b: SourceCounts) -> SourceCounts {
        SourceCounts(
            pages: a.pages + b.pages, added: a.added + b.added, updated: a.updated + b.updated,
            deleted: a.deleted + b.deleted, unchanged: a.unchanged + b.unchanged)
    }
}

/// One change a source reported: an entry as it now stands there, or its tombstone.
public struct SourceChange: Sendable, Equatable {
    /// The entry's id at the source, and the member that contributed it.
    public var remoteId: String
    public var member: Int64
    public var mediaType: MediaType
    public var deleted: Bool
    public var timestamp: Date
    public var classification: IndustryClassification?
    public var hashes: Hashes
    public var reason: DeletionReason?

    public init(
        remoteId: String, member: Int64, mediaType: MediaType, deleted: Bool, timestamp: Date,
        classification: IndustryClassification?, hashes: Hashes, reason: DeletionReason? = nil
    ) {
        self.remoteId = remoteId
        self.member = member
        self.mediaType = mediaType
        self.deleted = deleted
        self.timestamp = timestamp
        self.classification = classification
        self.hashes = hashes
        self.reason = reason
    }

    /// The key of the entry it makes on a list: one entry per source, member and remote id, so a file the
    /// hotline listed itself and a source's copy of it stay apart (each deleted by its own hand).
    public func key(from source: SourceID) -> String {
        "\(source.rawValue):\(member):\(remoteId)"
    }
}

/// Where an imported entry came from, as exports say it.
public struct EntryOrigin: Codable, Sendable, Equatable, Hashable {
    public var source: SourceID
    public var member: Int64
    public var id: String

    public init(source: SourceID, member: Int64, id: String) {
        self.source = source
        self.member = member
        self.id = id
    }
}

/// A page of a source's changes and what comes after it.
public struct SourcePage: Sendable, Equatable {
    public var changes: [SourceChange]
    /// The next page's link, relative to the base URL; nil on the window's last page.
    public var next: String?

    public init(changes: [SourceChange], next: String?) {
        self.changes = changes
        self.next = next
    }
}

/// A source as staff add it to a list.
public struct HashListSourceInput: Codable, Sendable {
    public var name: String?
    public var baseUrl: String?
    public var username: String?
    public var password: String?
    public var ukGrade: String?
    public var intervalSeconds: Int?
    public var overlapSeconds: Int?

    public init(
        name: String? = nil, baseUrl: String? = nil, username: String? = nil, password: String? = nil,
        ukGrade: String? = nil, intervalSeconds: Int? = nil, overlapSeconds: Int? = nil
    ) {
        self.name = name
        self.baseUrl = baseUrl
        self.username = username
        self.password = password
        self.ukGrade = ukGrade
        self.intervalSeconds = intervalSeconds
        self.overlapSeconds = overlapSeconds
    }

    /// The source, due at once, or every field at fault: the base URL an http(s) URL without credentials,
    /// query or fragment; the grade one the list takes; an interval from 1 minute to 7 days (1 hour by
    /// default) and an overlap up to 1 day (5 minutes by default).
    public func created(id: SourceID, for list: HashList, at now: Date) throws(ValidationError) -> HashListSource {
        var v = Validator()
        let name = v.text(name, "name", max: 200)
        var base: String?
        if let raw = v.text(baseUrl, "base_url", max: 2048) {
            if let url = WebURL(raw), !url.hasCredentials, !raw.contains("?"), !raw.contains("#"),
                URL(string: url.href) != nil
            {
                base = url.href.hasSuffix("/") ? String(url.href.dropLast()) : url.href
            } else {
                v.fail("base_url", "must be an http(s) URL without credentials, query or fragment")
            }
        }
        let username = v.text(username, "username", max: 200)
        if let username, username.contains(":") { v.fail("username", "must not contain a colon (HTTP Basic)") }
        let password = v.text(password, "password", max: 1000)
        let grade: UKGrade? = v.choice(ukGrade, "uk_grade")
        if let grade, !list.include.ukGrades.contains(grade) { v.fail("uk_grade", "is not a grade this list takes") }
        let interval = intervalSeconds ?? 3600
        if !(60...604_800).contains(interval) { v.fail("interval_seconds", "must be from 60 to 604800") }
        let overlap = overlapSeconds ?? 300
        if !(0...86_400).contains(overlap) { v.fail("overlap_seconds", "must be from 0 to 86400") }
        try v.check()
        return HashListSource(
            id: id, listId: list.id, name: name!, baseURL: base!, username: username!, password: password!,
            ukGrade: grade!, intervalSeconds: interval, overlapSeconds: overlap, createdAt: now,
            state: SourceState(nextPullAt: now))
    }
}
