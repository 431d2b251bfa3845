import Foundation

/// `POST /v1/cases` as the analyst sends it, before any check.
public struct CaseSubmission: Codable, Sendable {
    public struct CategoryInput: Codable, Sendable {
        public var ukGrade: String?
        public var classification: String?

        public init(ukGrade: String? = nil, classification: String? = nil) {
            self.ukGrade = ukGrade
            self.classification = classification
        }
    }

    public struct HashesInput: Codable, Sendable {
        public var md5: String?
        public var sha1: String?
        public var sha256: String?
        public var pdq: String?
        public var pdqQuality: Int?
        public var photodna: String?

        public init(
            md5: String? = nil, sha1: String? = nil, sha256: String? = nil, pdq: String? = nil, pdqQuality: Int? = nil,
            photodna: String? = nil
        ) {
            self.md5 = md5
            self.sha1 = sha1
            self.sha256 = sha256
            self.pdq = pdq
            self.pdqQuality = pdqQuality
            self.photodna = photodna
        }
    }

    public struct ItemInput: Codable, Sendable {
        public var url: String?
        public var observedAt: Date?
        public var ip: String?
        public var hashes: HashesInput?

        public init(url: String? = nil, observedAt: Date? = nil, ip: String? = nil, hashes: HashesInput? = nil) {
            self.url = url
            self.observedAt = observedAt
            self.ip = ip
            self.hashes = hashes
        }
    }

    public var reference: String?
    public var category: CategoryInput?
    public var mediaType: String?
    public var notes: String?
    public var items: [ItemInput]?
    /// Hold the case's notices until this law-enforcement partner releases them.
    public var policeHold: PoliceHoldInput?

    public static let maxItems = 10_000

    public init(
        reference: String? = nil, category: CategoryInput? = nil, mediaType: String? = nil, notes: String? = nil,
        items: [ItemInput]? = nil, policeHold: PoliceHoldInput? = nil
    ) {
        self.reference = reference
        self.category = category
        self.mediaType = mediaType
        self.notes = notes
        self.items = items
        self.policeHold = policeHold
    }

    /// The checked case, or every field at fault.
    public func validated(id: CaseID, at now: Date, by actor: String) throws(ValidationError) -> Case {
        var v = Validator()
        let reference = v.text(reference, "reference", max: 200)
        let grade: UKGrade? = v.choice(category?.ukGrade, "category.uk_grade")
        let classification: IndustryClassification? = v.choice(
            category?.classification, "category.classification", required: false)
        let media: MediaType? = v.choice(mediaType, "media_type")
        if let notes, notes.count > 10_000 { v.fail("notes", "must be at most 10000 characters") }

        var checkedItems: [CaseItem] = []
        if let items = v.require(items, "items") {
            if items.isEmpty || items.count > Self.maxItems {
                v.fail("items", "must hold 1 to \(Self.maxItems) items")
            }
            var seen = Set<String>()
            for (index, item) in items.enumerated() {
                if let checked = item.validated(path: "items[\(index)]", into: &v) {
                    if !seen.insert(checked.url).inserted {
                        v.fail("items[\(index)].url", "appears twice in this case")
                    }
                    checkedItems.append(checked)
                }
            }
        }
        try v.check()
        return Case(
            id: id, reference: reference!, category: Category(ukGrade: grade!, classification: classification),
            mediaType: media!, notes: notes, items: checkedItems, createdAt: now, createdBy: actor)
    }
}

extension CaseSubmission.ItemInput {
    func validated(path: String, into v: inout Validator) -> CaseItem? {
        let before = v.errors.count
        var normalised: String?
        if let url = v.require(url, "\(path).url") {
            normalised = Syntax.normalisedWebURL(url)
            if normalised == nil {
                v.fail("\(path).url", "must be an absolute http or https URL of at most 2048 characters")
            }
        }
        let observed = v.require(observedAt, "\(path).observed_at")
        if let ip, IPAddress(ip) == nil { v.fail("\(path).ip", "must be an IPv4 or IPv6 address") }
        let hashes = v.require(hashes, "\(path).hashes").flatMap { $0.validated(path: "\(path).hashes", into: &v) }
        guard v.errors.count == before, let url = normalised, let observed, let hashes else { return nil }
        return CaseItem(url: url, observedAt: observed, ip: ip.flatMap { IPAddress($0)?.description }, hashes: hashes)
    }
}

extension CaseSubmission.HashesInput {
    public func validated(path: String, into v: inout Validator) -> Hashes? {
        func hex(_ value: String?, _ name: String, _ length: Int) -> String? {
            guard let value else { return nil }
            guard Syntax.isHex(value, length: length) else {
                v.fail("\(path).\(name)", "must be \(length) hexadecimal characters")
                return nil
            }
            return value.lowercased()
        }
        let result = Hashes(
            md5: hex(md5, "md5", 32), sha1: hex(sha1, "sha1", 40), sha256: hex(sha256, "sha256", 64),
            pdq: hex(pdq, "pdq", 64), pdqQuality: pdqQuality, photodna: photodna)
        if let pdqQuality, !(0...100).contains(pdqQuality) {
            v.fail("\(path).pdq_quality", "must be between 0 and 100")
        }
        if pdqQuality != nil, pdq == nil { v.fail("\(path).pdq_quality", "needs a pdq hash") }
        if let photodna, !Syntax.isBase64(photodna) { v.fail("\(path).photodna", "must be base64") }
        if md5 == nil, sha1 == nil, sha256 == nil, pdq == nil, photodna == nil {
            v.fail(path, "must hold at least one hash")
        }
        return result
    }
}
