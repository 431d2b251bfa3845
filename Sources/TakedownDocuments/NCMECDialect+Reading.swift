import Foundation
import TakedownModel

extension NCMECDialect {
    /// The most entries one page may hold (NCMEC serves 1,000; a source sending more is refused).
    public static let maxEntriesPerPage = 5_000

    /// Reads one `<queryResult>` page of `GET /v2/entries` from a source, strictly: the root in the dialect's
    /// namespace, every entry with an id, a member number and a time, every fingerprint the gateway knows
    /// well-formed, the next link relative to the base URL. Anything else throws `XMLReadError`, and the
    /// page is not taken at all. Fingerprint types the gateway does not carry are ignored.
    public static func readEntriesPage(_ document: [UInt8]) throws -> SourcePage {
        let reader = try XMLPullReader(document)
        guard case .start(let root, let namespace, _) = try reader.next() else {
            throw XMLReadError("the document has no root element")
        }
        guard root == "queryResult", namespace == Self.namespace else {
            throw XMLReadError(
                "the root is <\(root)> in \(namespace.map { "namespace \($0)" } ?? "no namespace"), "
                    + "not <queryResult> in \(Self.namespace)")
        }
        var changes: [SourceChange] = []
        var next: String?
        while let node = try reader.next() {
            switch node {
            case .start(let name, _, _) where name == "images" || name == "videos":
                let media: MediaType = name == "images" ? .image : .video
                while let inner = try reader.next() {
                    guard case .start(let entry, _, _) = inner else {
                        if case .end = inner { break }
                        continue
                    }
                    let singular = media.rawValue
                    let deleted = "deleted" + singular.prefix(1).uppercased() + singular.dropFirst()
                    guard entry == singular || entry == deleted else {
                        throw XMLReadError("<\(name)> holds <\(entry)>")
                    }
                    changes.append(try readEntry(reader, element: entry, media: media, deleted: entry == deleted))
                    guard changes.count <= maxEntriesPerPage else {
                        throw XMLReadError("the page holds more than \(maxEntriesPerPage) entries")
                    }
                }
            case .start("paging", _, _):
                while let inner = try reader.next() {
                    if case .end = inner { break }
                    guard case .start(let name, _, _) = inner else { continue }
                    if name == "next" {
                        let link = try reader.text(of: name).trimmedXMLSpace
                        if !link.isEmpty { next = try checkedNext(link) }
                    } else {
                        try reader.skip(name)
                    }
                }
            case .start(let name, _, _): try reader.skip(name)
            case .end, .text: continue
            }
        }
        return SourcePage(changes: changes, next: next)
    }

    /// A next link the gateway will follow: `/v2/entries?…` relative to the source's base URL, never another
    /// host or path (a source must not steer the gateway's requests elsewhere).
    static func checkedNext(_ link: String) throws -> String {
        guard link.hasPrefix("/v2/entries?"), link.utf8.count <= 2_048,
            link.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "#" && $0 != "\\" }),
            URLComponents(string: link) != nil
        else { throw XMLReadError("the next link is not /v2/entries?… relative to the base URL") }
        return link
    }

    static func readEntry(_ reader: XMLPullReader, element: String, media: MediaType, deleted: Bool) throws
        -> SourceChange
    {
        var id: String?
        var member: Int64?
        var timestamp: Date?
        var classification: IndustryClassification?
        var fingerprints = CaseSubmission.HashesInput()
        var reason: DeletionReason?
        while let node = try reader.next() {
            guard case .start(let name, _, let attributes) = node else {
                if case .end = node { break }
                continue
            }
            switch name {
            case "id": id = try reader.text(of: name)
            case "member":
                member = attributes["id"].flatMap { Int64($0) }
                try reader.skip(name)
            case "timestamp":
                timestamp = Timestamp.parse(try reader.text(of: name).trimmedXMLSpace)
            case "classification":
                classification = IndustryClassification(
                    rawValue: try reader.text(of: name).trimmedXMLSpace)
            case "reason":
                reason = DeletionReason(rawValue: try reader.text(of: name).trimmedXMLSpace)
            case "fingerprints":
                while let inner = try reader.next() {
                    guard case .start(let type, _, _) = inner else {
                        if case .end = inner { break }
                        continue
                    }
                    // PhotoDNA and the video fingerprints are not kept on lists: skipped unread.
                    guard ["md5", "sha1", "sha256", "pdq"].contains(type) else {
                        try reader.skip(type)
                        continue
                    }
                    let value = try reader.text(of: type).trimmedXMLSpace
                    switch type {
                    case "md5": fingerprints.md5 = value
                    case "sha1": fingerprints.sha1 = value
                    case "sha256": fingerprints.sha256 = value
                    default: fingerprints.pdq = value
                    }
                }
            default: try reader.skip(name)
            }
        }
        guard let id, !id.isEmpty, id.utf8.count <= 128,
            id.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { throw XMLReadError("a <\(element)> has no usable <id> (1 to 128 printable ASCII characters)") }
        guard let member else { throw XMLReadError("<\(element)> \(id) has no <member id=\"…\">") }
        guard let timestamp else { throw XMLReadError("<\(element)> \(id) has no usable <timestamp>") }
        var hashes = Hashes()
        if fingerprints.md5 != nil || fingerprints.sha1 != nil || fingerprints.sha256 != nil || fingerprints.pdq != nil
        {
            var v = Validator()
            hashes = fingerprints.validated(path: "<\(element)> \(id) fingerprints", into: &v) ?? Hashes()
            if let error = v.errors.first { throw XMLReadError("\(error.name) \(error.reason)") }
        }
        return SourceChange(
            remoteId: id, member: member, mediaType: media, deleted: deleted, timestamp: timestamp,
            classification: classification, hashes: hashes, reason: reason)
    }

    /// What a member said of an entry in `PUT /v2/entries/{member}/{id}/{type}/feedback`.
    public enum FeedbackSubmission: Equatable, Sendable {
        case affirmative
        /// With the reasons' GUIDs.
        case negative([String])
    }

    /// Reads a `<feedbackSubmission>` (the client's body), strictly.
    public static func readFeedbackSubmission(_ document: [UInt8]) throws -> FeedbackSubmission {
        let reader = try XMLPullReader(document)
        guard case .start(let root, let namespace, _) = try reader.next(), root == "feedbackSubmission",
            namespace == Self.namespace
        else { throw XMLReadError("the root is not <feedbackSubmission> in \(Self.namespace)") }
        var submission: FeedbackSubmission?
        while let node = try reader.next() {
            guard case .start(let name, _, _) = node else { continue }
            guard submission == nil else { throw XMLReadError("<feedbackSubmission> holds more than one vote") }
            switch name {
            case "affirmative":
                try reader.skip(name)
                submission = .affirmative
            case "negative":
                var guids: [String] = []
                while let inner = try reader.next() {
                    if case .end("negative") = inner { break }
                    if case .start("guid", _, _) = inner {
                        guids.append(try reader.text(of: "guid").trimmedXMLSpace)
                        guard guids.count <= 16 else { throw XMLReadError("more than 16 reasons") }
                    }
                }
                submission = .negative(guids)
            default: throw XMLReadError("<feedbackSubmission> holds <\(name)>, not <affirmative> or <negative>")
            }
        }
        guard let submission else { throw XMLReadError("<feedbackSubmission> holds no vote") }
        return submission
    }
}

extension String {
    /// Without the XML white space (space, tab, CR, LF) at either end: what a reader of element text trims.
    /// By hand, on the UTF-8 bytes: Foundation's trimming bridges to NSString, at a cost a page of thousands
    /// of entries notices.
    var trimmedXMLSpace: String {
        let bytes = utf8
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        if first == bytes.startIndex, last == bytes.index(before: bytes.endIndex) { return self }
        return String(self[first...last])
    }
}
