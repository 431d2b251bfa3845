import Foundation

/// A case confirmed by an analyst: where the material is served and what its files hash to.
public struct Case: Codable, Sendable, Equatable {
    public var id: CaseID
    public var reference: String
    public var category: Category
    public var mediaType: MediaType
    /// Internal notes: they never leave the gateway's staff API.
    public var notes: String?
    public var items: [CaseItem]
    public var createdAt: Date
    public var createdBy: String

    public init(
        id: CaseID, reference: String, category: Category, mediaType: MediaType, notes: String?,
        items: [CaseItem], createdAt: Date, createdBy: String
    ) {
        self.id = id
        self.reference = reference
        self.category = category
        self.mediaType = mediaType
        self.notes = notes
        self.items = items
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// UK grade A/B/C and, optionally, the industry classification A1/A2/B1/B2.
public struct Category: Codable, Sendable, Equatable {
    public var ukGrade: UKGrade
    public var classification: IndustryClassification?

    public init(ukGrade: UKGrade, classification: IndustryClassification? = nil) {
        self.ukGrade = ukGrade
        self.classification = classification
    }
}

public enum UKGrade: String, Codable, Sendable, CaseIterable {
    case a = "A"
    case b = "B"
    case c = "C"
}

public enum IndustryClassification: String, Codable, Sendable, CaseIterable {
    case a1 = "A1"
    case a2 = "A2"
    case b1 = "B1"
    case b2 = "B2"
}

public enum MediaType: String, Codable, Sendable, CaseIterable {
    case image
    case video
}

/// One URL of a case, with its hashes and, once routed, the notice that carries it.
public struct CaseItem: Codable, Sendable, Equatable {
    public var url: String
    public var observedAt: Date
    public var ip: String?
    public var hashes: Hashes
    public var noticeId: NoticeID?
    /// Why the item has no notice yet (`no_matching_partner`, …); nil once routed.
    public var unroutedReason: String?
    /// Where the host was found at intake and what chose the recipient (nil for items of cases submitted
    /// before hosting traces were kept).
    public var trace: HostingTrace?

    public init(
        url: String, observedAt: Date, ip: String?, hashes: Hashes, noticeId: NoticeID? = nil,
        unroutedReason: String? = nil, trace: HostingTrace? = nil
    ) {
        self.url = url
        self.observedAt = observedAt
        self.ip = ip
        self.hashes = hashes
        self.noticeId = noticeId
        self.unroutedReason = unroutedReason
        self.trace = trace
    }
}

/// File hashes, hex normalised to lower case.
public struct Hashes: Codable, Sendable, Equatable, Hashable {
    public var md5: String?
    public var sha1: String?
    public var sha256: String?
    public var pdq: String?
    public var pdqQuality: Int?
    public var photodna: String?

    public init(
        md5: String? = nil, sha1: String? = nil, sha256: String? = nil, pdq: String? = nil,
        pdqQuality: Int? = nil, photodna: String? = nil
    ) {
        self.md5 = md5
        self.sha1 = sha1
        self.sha256 = sha256
        self.pdq = pdq
        self.pdqQuality = pdqQuality
        self.photodna = photodna
    }
}
