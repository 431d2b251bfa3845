import Foundation

public struct HashListID: PrefixedIdentifier {
    public static let prefix = "hl_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct HashEntryID: PrefixedIdentifier {
    public static let prefix = "hle_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A new id that sorts by creation time (48 bits of milliseconds, then 80 random bits), so a list of
    /// millions grows its id index at one end instead of rewriting pages all over it.
    public static func generate() -> HashEntryID {
        let milliseconds = UInt64(Date().timeIntervalSince1970 * 1000)
        var bytes = (0..<6).map { UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * $0)) }
        var generator = SystemRandomNumberGenerator()
        bytes += (0..<10).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return HashEntryID(rawValue: prefix + Base32.encode(bytes))
    }
}

public struct FeedbackID: PrefixedIdentifier {
    public static let prefix = "hfb_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// A versioned list that partners download: of file hashes (entries from cases, sources or staff) or of
/// confirmed URLs still live (entries from issued notices or staff, leaving when verified gone).
public struct HashList: Codable, Sendable, Equatable {
    public var id: HashListID
    public var name: String
    public var kind: HashListKind = .hashes
    public var audience: HashListAudience
    /// The hash types the list carries, in a fixed order (md5, sha1, sha256, pdq); none on a URL list.
    public var hashTypes: [HashType]
    public var include: HashListInclusion
    /// The partners granted the list; nobody else learns it exists.
    public var partners: [PartnerID]
    public var createdAt: Date
    public var updatedAt: Date
    /// The sequence number of the list's latest change (0 before the first).
    public var lastSeq: Int64 = 0
    /// Changes up to this sequence number were compacted away: cursors before it must resync.
    public var purgedThrough: Int64 = 0
    /// Entries live now.
    public var entryCount: Int = 0
    /// The newest published version, if any.
    public var latestVersion: Int?

    public init(
        id: HashListID, name: String, kind: HashListKind = .hashes, audience: HashListAudience,
        hashTypes: [HashType], include: HashListInclusion, partners: [PartnerID], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.audience = audience
        self.hashTypes = hashTypes
        self.include = include
        self.partners = partners
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether a partner of this kind may be granted the list.
    public func admits(_ kind: PartnerKind) -> Bool {
        switch audience {
        case .hostingProvider: return kind == .hostingProvider || kind == .hotline
        case .lawEnforcement: return kind == .lawEnforcement || kind == .hotline
        }
    }
}

/// What a list's entries are: files by hash, or URLs to block while their removal is pending.
public enum HashListKind: String, Codable, Sendable, CaseIterable {
    case hashes
    case urls
}

public enum HashListAudience: String, Codable, Sendable, CaseIterable {
    case hostingProvider = "hosting_provider"
    case lawEnforcement = "law_enforcement"
}

/// The hash types a list can carry, in export column order.
public enum HashType: String, Codable, Sendable, CaseIterable, Comparable {
    case md5
    case sha1
    case sha256
    case pdq

    public static func < (lhs: HashType, rhs: HashType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The hex length of a value of this type.
    public var hexLength: Int {
        switch self {
        case .md5: return 32
        case .sha1: return 40
        case .sha256, .pdq: return 64
        }
    }
}

/// Which confirmed material a list takes in automatically.
public struct HashListInclusion: Codable, Sendable, Equatable {
    public var ukGrades: [UKGrade]

    public init(ukGrades: [UKGrade]) { self.ukGrades = ukGrades }
}

/// Why staff took an entry off a list; the reason travels with the tombstone.
public enum DeletionReason: String, Codable, Sendable, CaseIterable {
    case falsePositive = "false_positive"
    case outOfScope = "out_of_scope"
    case duplicate
    case legal
    /// The source the entry was imported from deleted it, without a reason this gateway knows.
    case sourceDeleted = "source_deleted"
    /// A URL list's entry whose URL verification found gone (or serving other content).
    case gone
    /// A URL list's entry whose notice was withdrawn.
    case withdrawn

    /// Staff removals a newly issued notice does not undo.
    public static let staffFinal: Set<DeletionReason> = [.falsePositive, .legal]
}

extension Hashes {
    /// The value of one hash type, if present.
    public func value(_ type: HashType) -> String? {
        switch type {
        case .md5: return md5
        case .sha1: return sha1
        case .sha256: return sha256
        case .pdq: return pdq
        }
    }

    /// Only the given types (PDQ keeps its quality), for a list that carries those.
    public func restricted(to types: [HashType]) -> Hashes {
        Hashes(
            md5: types.contains(.md5) ? md5 : nil, sha1: types.contains(.sha1) ? sha1 : nil,
            sha256: types.contains(.sha256) ? sha256 : nil, pdq: types.contains(.pdq) ? pdq : nil,
            pdqQuality: types.contains(.pdq) && pdq != nil ? pdqQuality : nil)
    }

    /// The identity of a file within a list: its strongest hash of the list's types (`sha256:…`).
    public func entryKey(for types: [HashType]) -> String? {
        for type in [HashType.sha256, .sha1, .md5, .pdq] where types.contains(type) {
            if let value = value(type) { return "\(type.rawValue):\(value)" }
        }
        return nil
    }
}
