import Foundation

/// One file on a list, as it stands now: a live entry or a tombstone.
public struct HashListEntry: Codable, Sendable, Equatable {
    public var id: HashEntryID
    public var listId: HashListID
    /// Position within the list, from 1; the VICS `MediaID`.
    public var number: Int64
    public var mediaType: MediaType
    public var hashes: Hashes
    public var classification: Category
    /// The case that brought the entry in; internal, never in feeds or exports.
    public var caseId: CaseID?
    public var createdAt: Date
    public var updatedAt: Date
    public var deletedAt: Date?
    public var deletionReason: DeletionReason?
    /// The sequence number of the entry's latest change.
    public var seq: Int64
    /// The source an imported entry came from; nil for the hotline's own.
    public var origin: EntryOrigin?
    /// The URL of a URL list's entry (its hashes are empty); nil on a hash list.
    public var url: String?

    public init(
        id: HashEntryID, listId: HashListID, number: Int64, mediaType: MediaType, hashes: Hashes,
        classification: Category, caseId: CaseID?, createdAt: Date, updatedAt: Date, deletedAt: Date? = nil,
        deletionReason: DeletionReason? = nil, seq: Int64, origin: EntryOrigin? = nil, url: String? = nil
    ) {
        self.id = id
        self.listId = listId
        self.number = number
        self.mediaType = mediaType
        self.hashes = hashes
        self.classification = classification
        self.caseId = caseId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.deletionReason = deletionReason
        self.seq = seq
        self.origin = origin
        self.url = url
    }

    public var isLive: Bool { deletedAt == nil }
}

/// A file to put on a list (from a case or by hand), before the store gives it an id and a number.
public struct HashEntryDraft: Sendable, Equatable {
    public var key: String
    public var mediaType: MediaType
    public var hashes: Hashes
    public var classification: Category
    public var caseId: CaseID?
    /// The URL, on a URL list.
    public var url: String?

    public init(
        key: String, mediaType: MediaType, hashes: Hashes, classification: Category, caseId: CaseID?,
        url: String? = nil
    ) {
        self.key = key
        self.mediaType = mediaType
        self.hashes = hashes
        self.classification = classification
        self.caseId = caseId
        self.url = url
    }

    /// A URL list's entry: keyed by the URL, without hashes.
    public static func url(_ url: String, mediaType: MediaType, classification: Category, caseId: CaseID?)
        -> HashEntryDraft
    {
        HashEntryDraft(
            key: urlKey(url), mediaType: mediaType, hashes: Hashes(), classification: classification, caseId: caseId,
            url: url)
    }

    /// What issued notices of one case put on a URL list taking `grades`: their URLs not found gone.
    public static func urls(
        of notices: [Notice], caseID: CaseID, category: Category, mediaType: MediaType, grades: [UKGrade]
    ) -> [HashEntryDraft] {
        guard grades.contains(category.ukGrade) else { return [] }
        return notices.flatMap { notice in
            notice.urlListStanding.filter { $0.leaving == nil }.map {
                url($0.url, mediaType: mediaType, classification: category, caseId: caseID)
            }
        }
    }

    /// The identity of a URL within a URL list.
    public static func urlKey(_ url: String) -> String { "url:" + url }

    /// What a case item contributes to a list: nothing unless its grade is included and it has one of
    /// the list's hash types.
    public static func from(_ item: CaseItem, of record: Case, for list: HashList) -> HashEntryDraft? {
        guard list.include.ukGrades.contains(record.category.ukGrade) else { return nil }
        let hashes = item.hashes.restricted(to: list.hashTypes)
        guard let key = hashes.entryKey(for: list.hashTypes) else { return nil }
        return HashEntryDraft(
            key: key, mediaType: record.mediaType, hashes: hashes, classification: record.category,
            caseId: record.id)
    }
}

/// A staff change to a list; the store turns each into the list's next change record.
public enum HashListEdit: Sendable, Equatable {
    /// Adds the file, or restores it when it was deleted; a live entry with the same key stays as is.
    case add(HashEntryDraft)
    case reclassify(HashEntryID, Category)
    case delete(HashEntryID, DeletionReason)
}

/// One line of a list's change feed: what happened to an entry at a sequence number.
public struct HashListChange: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case upsert
        case delete
    }

    public var seq: Int64
    public var op: Operation
    public var entryId: HashEntryID
    public var mediaType: MediaType
    public var hashes: Hashes
    public var classification: Category
    public var updatedAt: Date
    public var reason: DeletionReason?
    /// Where an imported entry came from (source, remote member and id); absent for the hotline's own.
    public var origin: EntryOrigin?
    /// The URL of a URL list's entry; absent on a hash list.
    public var url: String?

    public init(
        seq: Int64, op: Operation, entryId: HashEntryID, mediaType: MediaType, hashes: Hashes,
        classification: Category, updatedAt: Date, reason: DeletionReason? = nil, origin: EntryOrigin? = nil,
        url: String? = nil
    ) {
        self.seq = seq
        self.op = op
        self.entryId = entryId
        self.mediaType = mediaType
        self.hashes = hashes
        self.classification = classification
        self.updatedAt = updatedAt
        self.reason = reason
        self.origin = origin
        self.url = url
    }

    /// The entry as this change leaves it.
    public init(_ entry: HashListEntry) {
        self.init(
            seq: entry.seq, op: entry.isLive ? .upsert : .delete, entryId: entry.id, mediaType: entry.mediaType,
            hashes: entry.hashes, classification: entry.classification, updatedAt: entry.updatedAt,
            reason: entry.deletionReason, origin: entry.origin, url: entry.url)
    }

    /// The feed line: canonical JSON (sorted snake_case keys), without the newline. Written by hand when
    /// every text is plain (no quote, backslash or control character, as hashes, ids and enums are), with the
    /// same bytes `encoder` would write (`HashListLineTests` hold them equal); through `encoder` otherwise.
    /// Every change stored and every page imported writes one, and JSONEncoder costs most of such a write.
    public func line(using encoder: JSONEncoder = WireFormat.encoder()) throws -> Data {
        guard let bytes = plainLine() else { return try encoder.encode(self) }
        return Data(bytes)
    }

    func plainLine() -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(400)
        func text(_ value: String) -> Bool {
            for byte in value.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C { return false }
            out.append(0x22)
            out += value.utf8
            out.append(0x22)
            return true
        }
        func key(_ name: StaticString) {
            out.append(0x22)
            out += UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            out += [0x22, 0x3A]
        }
        func number<T: BinaryInteger>(_ value: T) { out += String(value).utf8 }
        var first = true
        func comma() {
            if !first { out.append(0x2C) }
            first = false
        }
        out.append(0x7B)
        key("classification")
        out.append(0x7B)
        if let classification = classification.classification {
            key("classification")
            guard text(classification.rawValue) else { return nil }
            out.append(0x2C)
        }
        key("uk_grade")
        guard text(classification.ukGrade.rawValue) else { return nil }
        out.append(0x7D)
        out.append(0x2C)
        key("entry_id")
        guard text(entryId.rawValue) else { return nil }
        out.append(0x2C)
        key("hashes")
        out.append(0x7B)
        let fields: [(StaticString, String?)] = [
            ("md5", hashes.md5), ("pdq", hashes.pdq), ("pdq_quality", nil), ("photodna", hashes.photodna),
            ("sha1", hashes.sha1), ("sha256", hashes.sha256),
        ]
        for (name, value) in fields {
            if name.description == "pdq_quality" {
                guard let quality = hashes.pdqQuality else { continue }
                comma()
                key(name)
                number(quality)
                continue
            }
            guard let value else { continue }
            comma()
            key(name)
            guard text(value) else { return nil }
        }
        out.append(0x7D)
        out.append(0x2C)
        key("media_type")
        guard text(mediaType.rawValue) else { return nil }
        out.append(0x2C)
        key("op")
        guard text(op.rawValue) else { return nil }
        if let origin {
            out.append(0x2C)
            key("origin")
            out.append(0x7B)
            key("id")
            guard text(origin.id) else { return nil }
            out.append(0x2C)
            key("member")
            number(origin.member)
            out.append(0x2C)
            key("source")
            guard text(origin.source.rawValue) else { return nil }
            out.append(0x7D)
        }
        if let reason {
            out.append(0x2C)
            key("reason")
            guard text(reason.rawValue) else { return nil }
        }
        out.append(0x2C)
        key("seq")
        number(seq)
        out.append(0x2C)
        key("updated_at")
        guard text(Timestamp.format(updatedAt)) else { return nil }
        if let url {
            out.append(0x2C)
            key("url")
            guard text(url) else { return nil }
        }
        out.append(0x7D)
        return out
    }
}

/// A stored change with the entry's number, as exports and feeds read them.
public struct HashListRecord: Sendable, Equatable {
    public var change: HashListChange
    public var number: Int64
    /// The canonical feed line of `change`.
    public var line: Data

    public init(change: HashListChange, number: Int64, line: Data) {
        self.change = change
        self.number = number
        self.line = line
    }
}
