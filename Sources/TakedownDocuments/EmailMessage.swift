import Foundation
import TakedownModel

/// A notice as an RFC 5322 multipart message: the text in the recipient's language, the signed notice
/// JSON and its compact JWS attached. Built once when the delivery is written, so every retry sends the
/// same message under the same `Message-ID`.
public enum EmailMessage {
    public static func build(
        deliveryID: DeliveryID, from: String, to: String, notice: Notice, text: String, subject: String, date: Date,
        messageDomain: String
    ) -> Data {
        let boundary = "=_takedown_\(deliveryID.rawValue)"
        var lines: [String] = [
            "From: \(from)",
            "To: \(to)",
            "Subject: \(encodedHeader(subject))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(deliveryID.rawValue)@\(messageDomain)>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            "X-Takedown-Notice-Id: \(notice.id.rawValue)",
            "Content-Type: multipart/mixed; boundary=\"\(boundary)\"",
            "",
            "This is a signed takedown notice in MIME format.",
            "",
        ]
        lines += part(boundary, type: "text/plain; charset=utf-8", disposition: nil, body: Data(text.utf8))
        lines += part(
            boundary, type: "application/json; name=\"\(notice.id).json\"",
            disposition: "attachment; filename=\"\(notice.id).json\"", body: notice.document)
        lines += part(
            boundary, type: "application/jose; name=\"\(notice.id).jws\"",
            disposition: "attachment; filename=\"\(notice.id).jws\"", body: Data(notice.jws.utf8))
        lines.append("--\(boundary)--")
        lines.append("")
        return Data(lines.joined(separator: "\r\n").utf8)
    }

    /// A base64 part: line lengths stay far below SMTP's 998-octet limit whatever the content.
    static func part(_ boundary: String, type: String, disposition: String?, body: Data) -> [String] {
        var lines = ["--\(boundary)", "Content-Type: \(type)", "Content-Transfer-Encoding: base64"]
        if let disposition { lines.append("Content-Disposition: \(disposition)") }
        lines.append("")
        lines += body.base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        .components(separatedBy: "\r\n")
        return lines
    }

    /// RFC 2047 encoded-word when the header is not plain ASCII.
    static func encodedHeader(_ text: String) -> String {
        guard !text.allSatisfy({ $0.isASCII }) else { return text }
        return "=?utf-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
