import Foundation

/// `POST /v1/hash-lists` and `PATCH /v1/hash-lists/{id}` as staff send them, before any check.
public struct HashListInput: Codable, Sendable {
    public struct InclusionInput: Codable, Sendable {
        public var ukGrades: [String]?

        public init(ukGrades: [String]? = nil) { self.ukGrades = ukGrades }
    }

    public var name: String?
    /// `hashes` (the default) or `urls`.
    public var kind: String?
    public var audience: String?
    public var hashTypes: [String]?
    public var include: InclusionInput?
    public var partners: [String]?

    public init(
        name: String? = nil, kind: String? = nil, audience: String? = nil, hashTypes: [String]? = nil,
        include: InclusionInput? = nil, partners: [String]? = nil
    ) {
        self.name = name
        self.kind = kind
        self.audience = audience
        self.hashTypes = hashTypes
        self.include = include
        self.partners = partners
    }

    /// A new list, or every field at fault. Partner kinds are checked by the caller, who can read them.
    public func created(id: HashListID, at now: Date) throws(ValidationError) -> HashList {
        var v = Validator()
        let name = v.text(name, "name", max: 200)
        let audience: HashListAudience? = v.choice(audience, "audience")
        let kind: HashListKind? = kind == nil ? .hashes : v.choice(kind, "kind")
        var types: [HashType] = []
        if kind == .urls {
            // A URL list carries URLs only.
            if let hashTypes, !hashTypes.isEmpty { v.fail("hash_types", "must be absent on a URL list") }
        } else if kind == .hashes, let raw = v.require(hashTypes, "hash_types") {
            if raw.isEmpty { v.fail("hash_types", "must name at least one of: md5, sha1, sha256, pdq") }
            for (index, text) in raw.enumerated() {
                if let type: HashType = v.choice(text, "hash_types[\(index)]") { types.append(type) }
            }
        }
        var grades: [UKGrade] = []
        if let raw = v.require(include?.ukGrades, "include.uk_grades") {
            if raw.isEmpty { v.fail("include.uk_grades", "must name at least one of: A, B, C") }
            for (index, text) in raw.enumerated() {
                if let grade: UKGrade = v.choice(text, "include.uk_grades[\(index)]") { grades.append(grade) }
            }
        }
        let partners = Self.partnerIDs(self.partners ?? [], into: &v)
        try v.check()
        return HashList(
            id: id, name: name!, kind: kind!, audience: audience!, hashTypes: Array(Set(types)).sorted(),
            include: HashListInclusion(ukGrades: Array(Set(grades)).sorted { $0.rawValue < $1.rawValue }),
            partners: partners, createdAt: now, updatedAt: now)
    }

    /// The list with the fields a PATCH may change (name and grants); what entries a list takes is fixed.
    public func applied(to list: HashList, at now: Date) throws(ValidationError) -> HashList {
        var v = Validator()
        var updated = list
        if name != nil, let name = v.text(name, "name", max: 200) { updated.name = name }
        if audience != nil { v.fail("audience", "cannot change; create a new list") }
        if kind != nil { v.fail("kind", "cannot change; create a new list") }
        if hashTypes != nil { v.fail("hash_types", "cannot change; create a new list") }
        if include != nil { v.fail("include", "cannot change; create a new list") }
        if let partners { updated.partners = Self.partnerIDs(partners, into: &v) }
        try v.check()
        updated.updatedAt = now
        return updated
    }

    static func partnerIDs(_ raw: [String], into v: inout Validator) -> [PartnerID] {
        var ids: [PartnerID] = []
        for (index, text) in raw.enumerated() {
            if let id = PartnerID.parse(text) {
                if !ids.contains(id) { ids.append(id) }
            } else {
                v.fail("partners[\(index)]", "is not a partner id")
            }
        }
        return ids
    }
}

/// A file (or, on a URL list, a URL) staff put on a list by hand.
public struct HashEntryInput: Codable, Sendable {
    public var mediaType: String?
    public var hashes: CaseSubmission.HashesInput?
    public var url: String?
    public var classification: CaseSubmission.CategoryInput?

    public init(
        mediaType: String? = nil, hashes: CaseSubmission.HashesInput? = nil, url: String? = nil,
        classification: CaseSubmission.CategoryInput? = nil
    ) {
        self.mediaType = mediaType
        self.hashes = hashes
        self.url = url
        self.classification = classification
    }

    /// A URL list's entry: an absolute http(s) URL (normalised as case URLs are), without hashes.
    func urlDraft(for list: HashList, path: String, into v: inout Validator) -> HashEntryDraft? {
        let before = v.errors.count
        let media: MediaType? = v.choice(mediaType, "\(path).media_type")
        let category = CaseSubmission.CategoryInput.validated(classification, path: "\(path).classification", into: &v)
        if hashes != nil { v.fail("\(path).hashes", "must be absent on a URL list") }
        var normalised: String?
        if let url = v.require(url, "\(path).url") {
            normalised = Syntax.normalisedWebURL(url)
            if normalised == nil {
                v.fail("\(path).url", "must be an absolute http or https URL of at most 2048 characters")
            }
        }
        guard v.errors.count == before, let media, let category, let normalised else { return nil }
        if !list.include.ukGrades.contains(category.ukGrade) {
            v.fail("\(path).classification.uk_grade", "is not a grade this list takes")
            return nil
        }
        return .url(normalised, mediaType: media, classification: category, caseId: nil)
    }

    /// The entry for this list, or the fields at fault (it must carry one of the list's hash types and a
    /// grade the list takes).
    public func draft(for list: HashList, path: String, into v: inout Validator) -> HashEntryDraft? {
        if list.kind == .urls { return urlDraft(for: list, path: path, into: &v) }
        if url != nil { v.fail("\(path).url", "is only for a URL list") }
        let before = v.errors.count
        let media: MediaType? = v.choice(mediaType, "\(path).media_type")
        let category = CaseSubmission.CategoryInput.validated(classification, path: "\(path).classification", into: &v)
        let hashes = v.require(hashes, "\(path).hashes").flatMap { $0.validated(path: "\(path).hashes", into: &v) }
        guard v.errors.count == before, let media, let category, let hashes else { return nil }
        if !list.include.ukGrades.contains(category.ukGrade) {
            v.fail("\(path).classification.uk_grade", "is not a grade this list takes")
            return nil
        }
        let kept = hashes.restricted(to: list.hashTypes)
        guard let key = kept.entryKey(for: list.hashTypes) else {
            v.fail(
                "\(path).hashes",
                "must hold one of the list's hash types: " + list.hashTypes.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        return HashEntryDraft(key: key, mediaType: media, hashes: kept, classification: category, caseId: nil)
    }
}

extension CaseSubmission.CategoryInput {
    /// A UK grade (required) with an optional industry classification.
    public static func validated(_ input: Self?, path: String, into v: inout Validator) -> Category? {
        let grade: UKGrade? = v.choice(input?.ukGrade, "\(path).uk_grade")
        let classification: IndustryClassification? = v.choice(
            input?.classification, "\(path).classification", required: false)
        return grade.map { Category(ukGrade: $0, classification: classification) }
    }
}
