import Crypto
import Foundation
import TakedownModel

/// A notice as XARF v4 `content`/`csam` reports, one per item.
public enum XARFReport {
    public static let version = "4.2.0"

    /// The reports of the items in `range` (all by default), so a large notice can be written in slices.
    public static func reports(
        for document: NoticeDocument, items: [NoticeItem], issuer: IssuerProfile, range: Range<Int>? = nil
    ) -> [[String: Any]] {
        let contact: [String: Any] = [
            "org": issuer.organisation, "contact": issuer.contactEmail, "domain": issuer.domain,
        ]
        let removed = Dictionary(items.map { ($0.url, $0.removedAt != nil) }, uniquingKeysWith: { first, _ in first })
        let indices = (range ?? document.items.indices).clamped(to: document.items.indices)
        return indices.map { index in
            let item = document.items[index]
            let host = Syntax.routingHost(of: item.url) ?? ""
            var report: [String: Any] = [
                "xarf_version": version,
                "report_id": reportID(notice: document.id, index: index),
                "timestamp": item.observedAt,
                "reporter": contact,
                "sender": contact,
                "source_identifier": item.ip ?? host,
                "category": "content",
                "type": "csam",
                "url": item.url,
                "classification": document.category.xarfClassification,
                "detection_method": "manual_review",
                "evidence_source": "researcher_analysis",
                "media_type": document.mediaType,
                "verified_at": item.observedAt,
                "verification_method": "manual",
                "confidence": 1.0,
                "description": "Takedown notice \(document.id), item \(index + 1) of \(document.items.count)",
                "tags": ["notice:\(document.id)", "uk-grade:\(document.category.ukGrade.lowercased())"],
            ]
            if isXARFDomain(host) { report["domain"] = host }
            var hashes: [String: String] = [:]
            hashes["md5"] = item.hashes.md5
            hashes["sha1"] = item.hashes.sha1
            hashes["sha256"] = item.hashes.sha256
            hashes["photodna"] = item.hashes.photodna
            if !hashes.isEmpty { report["hash_values"] = hashes }
            if let gone = removed[item.url] { report["content_removed"] = gone }
            return report
        }
    }

    /// A stable UUID per (notice, item), so asking twice gives the same report ids.
    static func reportID(notice: String, index: Int) -> String {
        var bytes = Array(SHA256.hash(data: Data("\(notice)#\(index)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: name-based, custom hash
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = Hex.encode(bytes)
        let i = hex.startIndex
        func slice(_ from: Int, _ to: Int) -> Substring {
            hex[hex.index(i, offsetBy: from)..<hex.index(i, offsetBy: to)]
        }
        return "\(slice(0, 8))-\(slice(8, 12))-\(slice(12, 16))-\(slice(16, 20))-\(slice(20, 32))"
    }

    /// XARF's domain pattern: lower-case dotted labels ending in a letters-only top-level domain.
    static func isXARFDomain(_ host: String) -> Bool {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, let tld = labels.last, tld.count >= 2, tld.allSatisfy({ $0 >= "a" && $0 <= "z" })
        else {
            return false
        }
        return labels.dropLast().allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-" && !label.contains("--")
                && label.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
        }
    }
}
