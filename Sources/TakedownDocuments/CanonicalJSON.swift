import Foundation

/// A JSON value written canonically: object members in byte order of their keys, no whitespace, strings
/// escaped only where JSON requires (`"`, `\`, control characters; `/` and non-ASCII as they are). These
/// are the bytes `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes`, and for strings,
/// integers and booleans what RFC 8785 (JCS) writes.
///
/// Written for the notice, the document every case signs (and used for other answers with many members, such
/// as a bulk request's results): `JSONEncoder` went through `Codable`'s keyed
/// containers and converted every key to snake_case for every notice, about a tenth of the CPU an issued
/// notice cost. A test holds the two to the same bytes.
public enum CanonicalJSON: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([CanonicalJSON])
    /// Members whose value is nil are left out, as `Codable` leaves out a nil optional.
    case object([(String, CanonicalJSON?)])

    /// An optional member: left out when nil.
    public static func text(_ value: String?) -> CanonicalJSON? { value.map(CanonicalJSON.string) }
    public static func number(_ value: Int?) -> CanonicalJSON? { value.map(CanonicalJSON.int) }

    public var data: Data {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out)
        return Data(out)
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text): Self.write(text, into: &out)
        case .int(let value): out += String(value).utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in members.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) {
                guard let value else { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                Self.write(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func write(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out += [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension NoticeDocument {
    /// The notice as a canonical JSON value, member for member what its `Codable` form holds.
    var canonicalValue: CanonicalJSON {
        .object([
            ("iss", .string(iss)), ("aud", .string(aud)), ("iat", .int(iat)), ("jti", .string(jti)),
            ("id", .string(id)), ("type", .string(type)), ("notice_version", .int(noticeVersion)),
            ("sequence", .int(sequence)), ("case_reference", .string(caseReference)),
            ("issued_at", .string(issuedAt)), ("deadline_at", .string(deadlineAt)), ("language", .string(language)),
            (
                "issuer",
                .object([
                    ("organisation", .string(issuer.organisation)), ("contact_email", .string(issuer.contactEmail)),
                    ("country", .string(issuer.country)), ("website", .text(issuer.website)),
                    (
                        "trusted_flagger",
                        .object([
                            ("designated", .bool(issuer.trustedFlagger.designated)),
                            ("designated_by", .text(issuer.trustedFlagger.designatedBy)),
                            ("scope", .text(issuer.trustedFlagger.scope)),
                        ])
                    ),
                ])
            ),
            (
                "recipient",
                .object([
                    ("partner_id", .string(recipient.partnerId)), ("name", .string(recipient.name)),
                    ("contact_email", .string(recipient.contactEmail)),
                    ("jurisdiction", .string(recipient.jurisdiction)),
                ])
            ),
            (
                "legal_basis",
                .array(
                    legalBasis.map { basis in
                        .object([
                            ("jurisdiction", .string(basis.jurisdiction)), ("instrument", .string(basis.instrument)),
                            ("provision", .string(basis.provision)),
                        ])
                    })
            ),
            (
                "category",
                .object([
                    ("code", .string(category.code)), ("uk_grade", .string(category.ukGrade)),
                    ("classification", .text(category.classification)),
                    ("xarf_classification", .string(category.xarfClassification)),
                ])
            ),
            ("media_type", .string(mediaType)), ("explanation", .string(explanation)),
            ("good_faith_statement", .string(goodFaithStatement)),
            ("items", .array(items.map(\.canonicalValue))),
            (
                "requested_action",
                .object([
                    ("action", .string(requestedAction.action)),
                    ("preserve_evidence", .bool(requestedAction.preserveEvidence)),
                    ("preservation_days", .int(requestedAction.preservationDays)),
                    ("notify_uploader", .bool(requestedAction.notifyUploader)),
                ])
            ),
            (
                "response",
                .object([
                    ("notice", .string(response.notice)), ("acknowledge", .string(response.acknowledge)),
                    ("removal", .string(response.removal)), ("unable", .string(response.unable)),
                    ("dispute", .string(response.dispute)),
                ])
            ),
            (
                "appeal",
                .object([("route", .string(appeal.route)), ("contact_email", .string(appeal.contactEmail))])
            ),
        ])
    }
}

extension NoticeDocument.Item {
    var canonicalValue: CanonicalJSON {
        .object([
            ("url", .string(url)), ("observed_at", .string(observedAt)), ("ip", .text(ip)),
            (
                "hashes",
                .object([
                    ("md5", .text(hashes.md5)), ("sha1", .text(hashes.sha1)), ("sha256", .text(hashes.sha256)),
                    ("pdq", .text(hashes.pdq)), ("pdq_quality", .number(hashes.pdqQuality)),
                    ("photodna", .text(hashes.photodna)),
                ])
            ),
            (
                "trace",
                trace.map { trace in
                    .object([
                        ("host", .text(trace.host)), ("addresses", .array(trace.addresses.map(CanonicalJSON.string))),
                        ("address", .text(trace.address)), ("asn", .number(trace.asn)),
                        ("as_name", .text(trace.asName)),
                        ("country", .text(trace.country)),
                        ("basis", .string(trace.basis)), ("traced_at", .string(trace.tracedAt)),
                    ])
                }
            ),
        ])
    }
}
