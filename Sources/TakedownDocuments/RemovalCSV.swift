import Foundation
import TakedownModel

/// The per-notice rows behind the removal figures, as CSV (RFC 4180) for spreadsheets.
public enum RemovalCSV {
    public static let header = [
        "notice_id", "partner_id", "partner_name", "jurisdiction", "status", "issued_at", "deadline_at",
        "acknowledged_at", "removed_at", "seconds_to_acknowledge", "seconds_to_removal", "verified_at",
        "seconds_to_verified_removal",
    ]

    public static func render(_ rows: [RemovalRow]) -> String {
        var lines = [header.joined(separator: ",")]
        for row in rows {
            let fields: [String] = [
                row.noticeId.rawValue, row.partnerId.rawValue, row.partnerName, row.jurisdiction, row.status.rawValue,
                Timestamp.format(row.issuedAt), Timestamp.format(row.deadlineAt),
                row.acknowledgedAt.map(Timestamp.format) ?? "", row.removedAt.map(Timestamp.format) ?? "",
                row.secondsToAcknowledge.map { String(format: "%.3f", $0) } ?? "",
                row.secondsToRemoval.map { String(format: "%.3f", $0) } ?? "",
                row.verifiedAt.map(Timestamp.format) ?? "",
                row.secondsToVerifiedRemoval.map { String(format: "%.3f", $0) } ?? "",
            ]
            lines.append(fields.map(quote).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Quotes a field when it holds a comma, quote or line break; a leading `=`, `+`, `-` or `@` is
    /// prefixed with `'` so a spreadsheet never runs a partner-supplied name as a formula.
    static func quote(_ field: String) -> String {
        var value = field
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
