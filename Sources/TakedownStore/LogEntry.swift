import Crypto
import Foundation
import TakedownModel
import TakedownSigning

/// One entry of the tamper-evident log, written in the same transaction as the change it records: the
/// canonical bytes of what happened, with the SHA-256 of documents and free text kept elsewhere, so that an
/// entry carries ids and hashes and shows nothing of a partner's data.
///
/// The bytes are JSON with sorted keys, no spaces, and values that are ids, hex, names or RFC 3339 times
/// as the API writes them: what Python's `json.dumps(sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False)` writes for the same object, so that a verifier rebuilds an entry from the record
/// the API serves and finds it in the tree.
public struct LogEntry: Sendable, Equatable {
    /// The record it is about, for finding its proofs: a notice, `list/version`, a referral, or `audit`.
    public var subject: String
    public var body: Data

    public init(subject: String, body: Data) {
        self.subject = subject
        self.body = body
    }

    public var leafHash: Data { MerkleTree.leafHash(body) }

    public static func noticeIssued(_ notice: Notice) -> LogEntry {
        LogEntry(
            subject: notice.id.rawValue,
            fields: [
                "kind": "notice.issued", "notice": notice.id.rawValue, "at": Timestamp.format(notice.issuedAt),
                "jws_sha256": sha256(notice.jws),
            ])
    }

    /// A step of a notice's timeline: an answer, a state change, a withdrawal, an escalation.
    public static func noticeEvent(_ event: TimelineEvent, of notice: NoticeID) -> LogEntry {
        var fields = [
            "kind": "notice.event", "notice": notice.rawValue, "event": event.event, "at": Timestamp.format(event.at),
            "actor_sha256": sha256(event.actor),
        ]
        if let detail = event.detail { fields["detail_sha256"] = sha256(detail) }
        return LogEntry(subject: notice.rawValue, fields: fields)
    }

    /// An entry of a hash list added, changed or removed: the change's line as exports write it.
    public static func hashListChange(list: HashListID, seq: Int64, entry: String, op: String, line: Data)
        -> LogEntry
    {
        LogEntry(
            subject: list.rawValue,
            fields: [
                "kind": "hash_list.change", "list": list.rawValue, "seq": String(seq), "entry": entry, "op": op,
                "line_sha256": sha256(line),
            ])
    }

    /// A published version of a hash list: its signed manifest.
    public static func hashListVersion(_ version: HashListVersion) -> LogEntry {
        LogEntry(
            subject: versionSubject(list: version.listId, version: version.version),
            fields: [
                "kind": "hash_list.version", "list": version.listId.rawValue, "version": String(version.version),
                "at": Timestamp.format(version.createdAt), "jws_sha256": sha256(version.jws),
            ])
    }

    public static func versionSubject(list: HashListID, version: Int) -> String { "\(list.rawValue)/\(version)" }

    /// A referral received from a peer hotline (its signed document), or decided here.
    public static func referral(_ referral: Referral) -> LogEntry {
        var fields = [
            "kind": "referral", "referral": referral.id.rawValue, "state": referral.state.rawValue,
            "at": Timestamp.format(referral.decidedAt ?? referral.receivedAt),
        ]
        if let jws = referral.jws { fields["jws_sha256"] = sha256(jws) }
        if let reason = referral.reason { fields["reason_sha256"] = sha256(reason) }
        if let caseId = referral.caseId { fields["case"] = caseId.rawValue }
        return LogEntry(subject: referral.id.rawValue, fields: fields)
    }

    /// A staff action of the audit trail.
    public static func audit(_ entry: AuditEntry) -> LogEntry {
        var fields = [
            "kind": "audit", "action": entry.action, "at": Timestamp.format(entry.at),
            "actor_sha256": sha256(entry.actor), "summary_sha256": sha256(entry.summary),
        ]
        if let target = entry.target { fields["target"] = target }
        return LogEntry(subject: "audit", fields: fields)
    }

    init(subject: String, fields: [String: String]) {
        self.init(subject: subject, body: Self.canonical(fields))
    }

    /// `{"a":"…","b":"…"}` with the keys sorted by their UTF-16 code units, as Python sorts them: the bytes
    /// of an entry with these fields, for a verifier rebuilding one from a record.
    public static func canonical(_ fields: [String: String]) -> Data {
        var text = "{"
        for (offset, key) in fields.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
            if offset > 0 { text += "," }
            text += quoted(key) + ":" + quoted(fields[key] ?? "")
        }
        return Data((text + "}").utf8)
    }

    /// A JSON string as Python writes it with `ensure_ascii=False`.
    static func quoted(_ value: String) -> String {
        // Ids, hex, names and times: nothing to escape, and every notice writes a few.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + value + "\"" }
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }

    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }

    public static func sha256(_ data: Data) -> String { Hex.encode(SHA256.hash(data: data)) }
}
