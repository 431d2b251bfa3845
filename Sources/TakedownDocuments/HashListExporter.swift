import Foundation
import TakedownModel

/// Writes one export file of a list version record by record, so no file is ever held whole.
///
/// Output depends only on the records and the list, so the same version exports to the same bytes every
/// time (the manifest's SHA-256 holds).
public struct HashListExporter: Sendable {
    public let kind: ExportKind
    /// Whether the list is a URL list: its files carry URLs instead of hashes.
    let urls: Bool
    let columns: [HashType]
    /// The VICS `PrecategorizationSource`, JSON-escaped once.
    let sourceJSON: String
    private var wroteRecord = false

    public init(kind: ExportKind, list: HashList, source: String) {
        self.kind = kind
        self.urls = list.kind == .urls
        self.columns = list.hashTypes.sorted()
        let escaped = (try? JSONEncoder().encode([source])).map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        self.sourceJSON = String(escaped.dropFirst().dropLast())
    }

    /// The VICS 2.0 hash-set context. The UK profile's numeric categories are not public, so the export
    /// uses the Default profile and carries the UK grade in `Tags`.
    public static let vicsContext =
        "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"

    public var contentType: String {
        switch kind.format {
        case .ndjson: return "application/x-ndjson"
        case .csv: return "text/csv; charset=utf-8; header=present"
        case .text: return "text/plain; charset=utf-8"
        case .vics: return "application/json"
        }
    }

    public var fileExtension: String {
        switch kind.format {
        case .ndjson: return "ndjson"
        case .csv: return "csv"
        case .text: return "txt"
        case .vics: return "json"
        }
    }

    public func header() -> [UInt8] {
        switch kind.format {
        case .ndjson, .text: return []
        case .csv where urls:
            return Array("entry_id,url,media_type,uk_grade,classification,updated_at\n".utf8)
        case .csv:
            let hashes = columns.flatMap { $0 == .pdq ? ["pdq", "pdq_quality"] : [$0.rawValue] }
            return Array(
                (["entry_id", "media_type"] + hashes + ["uk_grade", "classification", "updated_at"])
                    .joined(separator: ",").appending("\n").utf8)
        case .vics: return Array("{\"@odata.context\":\"\(Self.vicsContext)\",\"value\":[".utf8)
        }
    }

    /// Appends a live entry's line to `output`; entries without the file's hash type are left out.
    public mutating func write(_ record: HashListRecord, to output: inout [UInt8]) {
        let change = record.change
        switch kind.format {
        case .ndjson:
            output.append(contentsOf: record.line)
            output.append(0x0A)
        case .text where urls:
            guard let url = change.url else { return }
            output.append(contentsOf: url.utf8)
            output.append(0x0A)
        case .text:
            guard let hash = kind.hash, let value = change.hashes.value(hash) else { return }
            output.append(contentsOf: value.utf8)
            output.append(0x0A)
        case .csv where urls:
            let fields = [
                change.entryId.rawValue, RemovalCSV.quote(change.url ?? ""), change.mediaType.rawValue,
                change.classification.ukGrade.rawValue, change.classification.classification?.rawValue ?? "",
                Timestamp.format(change.updatedAt),
            ]
            output.append(contentsOf: fields.joined(separator: ",").utf8)
            output.append(0x0A)
        case .csv:
            var fields = [change.entryId.rawValue, change.mediaType.rawValue]
            for type in columns {
                fields.append(change.hashes.value(type) ?? "")
                if type == .pdq { fields.append(change.hashes.pdqQuality.map(String.init) ?? "") }
            }
            fields += [
                change.classification.ukGrade.rawValue, change.classification.classification?.rawValue ?? "",
                Timestamp.format(change.updatedAt),
            ]
            output.append(contentsOf: fields.joined(separator: ",").utf8)
            output.append(0x0A)
        case .vics:
            guard let md5 = change.hashes.md5 else { return }
            if wroteRecord { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: vicsMedia(change, md5: md5, number: record.number).utf8)
        }
        wroteRecord = true
    }

    public func footer() -> [UInt8] {
        kind.format == .vics ? Array("]}".utf8) : []
    }

    /// A VICS 2.0 Media record; keys in a fixed order, values that need no escaping but the source.
    func vicsMedia(_ change: HashListChange, md5: String, number: Int64) -> String {
        var alternatives: [String] = []
        if let sha256 = change.hashes.sha256 {
            alternatives.append("{\"HashName\":\"SHA256\",\"HashValue\":\"\(sha256)\",\"MD5\":\"\(md5)\"}")
        }
        if let pdq = change.hashes.pdq {
            alternatives.append("{\"HashName\":\"PDQ\",\"HashValue\":\"\(pdq)\",\"MD5\":\"\(md5)\"}")
        }
        var tags = "uk_grade:\(change.classification.ukGrade.rawValue)"
        if let industry = change.classification.classification { tags += ";classification:\(industry.rawValue)" }
        var media = "{\"MediaID\":\(number),\"MD5\":\"\(md5)\""
        if let sha1 = change.hashes.sha1 { media += ",\"SHA1\":\"\(sha1)\"" }
        media += ",\"Category\":1,\"IsPrecategorized\":true,\"PrecategorizationSource\":\(sourceJSON)"
        media += ",\"DateUpdated\":\"\(Timestamp.format(change.updatedAt))\",\"Tags\":\"\(tags)\""
        media += ",\"AlternativeHashes\":[\(alternatives.joined(separator: ","))]}"
        return media
    }
}
