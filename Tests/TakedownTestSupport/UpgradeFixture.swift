import Foundation
import TakedownModel

/// A populated database as each earlier schema version left it, written in plain SQL the way that
/// version's gateway wrote its rows (JSON texts as its encoder wrote them, positions, counters), and
/// what the current store must read back once it has migrated (`UpgradeFixture+Checks.swift`).
public enum UpgradeFixture {
    /// Every schema version before the current one, oldest first.
    public static let earlierVersions = [
        "v1-core", "v2-outbox", "v3-ladder", "v4-hash-lists", "v5-clocks", "v6-access", "v7-audit",
        "v8-hash-list-sources",
    ]
    /// Every migration the current PostgreSQL store applies.
    public static let allVersions =
        earlierVersions + [
            "v9-hosting-trace", "v10-referrals", "v11-console-and-disputes", "v12-police-holds",
            "v13-url-lists", "v15-signing-keys", "v16-outbox-workers", "v17-lz4-documents",
            "v18-transparency-log", "v19-log-leaves",
        ]
    /// Every migration the current SQLite store applies: PostgreSQL's, and the move of notice documents out
    /// of the notice rows (v14), which PostgreSQL keeps apart on its own (TOAST).
    public static let sqliteVersions =
        earlierVersions + [
            "v9-hosting-trace", "v10-referrals", "v11-console-and-disputes", "v12-police-holds",
            "v13-url-lists", "v14-notice-documents", "v15-signing-keys", "v16-outbox-workers",
            "v18-transparency-log",
        ]

    public enum Dialect: Sendable {
        case sqlite
        case postgres
    }

    /// A column value; each store's test binds it through its own driver.
    public enum Value: Sendable, Equatable {
        case text(String)
        case real(Double)
        case integer(Int64)
        case blob(Data)
        case bool(Bool)
        case null
    }

    /// One INSERT.
    public struct Row: Sendable {
        public let table: String
        public let columns: [(name: String, value: Value)]

        init(_ table: String, _ columns: [(String, Value)]) {
            self.table = table
            self.columns = columns.map { (name: $0.0, value: $0.1) }
        }

        /// The statement, with `?` (SQLite) or `$n` (PostgreSQL) placeholders in column order.
        public func sql(_ dialect: Dialect) -> String {
            let marks = columns.indices.map { dialect == .sqlite ? "?" : "$\($0 + 1)" }
            return "INSERT INTO \(table) (\(columns.map(\.name).joined(separator: ", "))) "
                + "VALUES (\(marks.joined(separator: ", ")))"
        }

        public var values: [Value] { columns.map(\.value) }
    }

    /// 1 for `v1-core`, 2 for `v2-outbox`, …
    static func level(_ version: String) -> Int { allVersions.firstIndex(of: version)! + 1 }

    static func time(_ offset: TimeInterval) -> Value {
        .real(Synthetic.epoch.addingTimeInterval(offset).timeIntervalSince1970)
    }

    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86_400

    // The ids and hashes of the rows: fixed for the whole test process.
    static let hosting = PartnerID.generate()
    static let police = PartnerID.generate()
    static let adminToken = TokenID.generate()
    static let partnerToken = TokenID.generate()
    static let revokedToken = TokenID.generate()
    static let secretHashes = (0..<3).map { _ in Synthetic.hex(64) }
    static let cases = (0..<3).map { _ in CaseID.generate() }
    static let notices = (0..<3).map { _ in NoticeID.generate() }
    static let deliveries = (0..<5).map { _ in DeliveryID.generate() }
    static let itemHashes = (0..<5).map { _ in Synthetic.hashes() }
    static let list = HashListID.generate()
    static let entries = (0..<2).map { _ in HashEntryID.generate() }
    static let feedback = FeedbackID.generate()
    static let policy = SLAPolicyID.generate()
    static let webhookSecret = "whsec_" + Synthetic.hex(40)
    static let webhook = "https://hooks.upgrade.test/in"
    static let mailbox = "abuse@upgrade.test"
    static let urls = [
        "https://upgrade.test/a.jpg", "https://nobody.example/b.jpg", "https://upgrade.test/c.mp4",
        "https://upgrade.test/d.jpg",
    ]
    static let idempotency = (scope: "tok_upgradeanalyst", key: "case-upgrade-1", hash: Synthetic.hex(64))

    /// The rows a gateway at `version` had written, in an order its foreign keys accept.
    public static func rows(at version: String, _ dialect: Dialect) -> [Row] {
        let level = level(version)
        var rows = coreRows(level, dialect)
        if level >= 2 { rows += outboxRows(level, dialect) }
        if level >= 4 { rows += hashListRows() }
        if level >= 5 { rows += clockRows() }
        return rows
    }

    static func coreRows(_ level: Int, _ dialect: Dialect) -> [Row] {
        var rows: [Row] = []
        var hosting: [(String, Value)] = [
            ("id", .text(Self.hosting.rawValue)), ("name", .text("Upgrade Hosting")),
            ("kind", .text("hosting_provider")),
            ("contact_email", .text(mailbox)), ("locale", .text("en")), ("jurisdiction", .text("GB")),
            ("routing", .text(#"{"asns":[64500],"domains":["upgrade.test"],"ipRanges":["192.0.2.0\/24"]}"#)),
            ("delivery", .text(#"{"webhookUrl":"https:\/\/hooks.upgrade.test\/in"}"#)),
            ("created_at", time(-day)), ("updated_at", time(-day)),
        ]
        var police: [(String, Value)] = [
            ("id", .text(Self.police.rawValue)), ("name", .text("Police Liaison")), ("kind", .text("law_enforcement")),
            ("contact_email", .text("liaison@police.test")), ("locale", .text("en")), ("jurisdiction", .text("GB")),
            ("routing", .text(#"{"asns":[],"domains":[],"ipRanges":[]}"#)), ("delivery", .text("{}")),
            ("created_at", time(-day)), ("updated_at", time(-day)),
        ]
        if level >= 5 {
            hosting.append(("sla_policy_id", .text(SLAPolicyID.standard.rawValue)))
            police.append(("sla_policy_id", .text(policy.rawValue)))
        }
        if level >= 6 { police += [("suspended_at", time(-60)), ("suspension_reason", .text("contract ended"))] }
        rows += [Row("partners", hosting), Row("partners", police)]

        let tokens: [(TokenID, String, String, PartnerID?, TimeInterval)] = [
            (adminToken, "admin", "bootstrap", nil, -day),
            (partnerToken, "partner", "upgrade hosting", Self.hosting, -day + 400),
            (revokedToken, "analyst", "former analyst", nil, -day + 1400),
        ]
        for (index, token) in tokens.enumerated() {
            var columns: [(String, Value)] = [
                ("id", .text(token.0.rawValue)), ("role", .text(token.1)), ("name", .text(token.2)),
                ("partner_id", token.3.map { .text($0.rawValue) } ?? .null),
                ("secret_hash", .text(secretHashes[index])),
                ("created_at", time(token.4)),
            ]
            if token.0 == revokedToken { columns.append(("revoked_at", time(-hour))) }
            if level >= 6, token.0 == partnerToken {
                columns += [("expires_at", time(30 * day)), ("last_used_at", time(-120))]
            }
            // SQLite's v6 numbers tokens itself from then on; PostgreSQL's is an identity column.
            if level >= 6, dialect == .sqlite { columns.append(("position", .integer(Int64(index + 1)))) }
            rows.append(Row("tokens", columns))
        }

        let references: [(String, String, Value, String, Value)] = [
            ("HL-UPGRADE-1", "A", .text("A1"), "image", .text("internal note")),
            ("HL-UPGRADE-2", "B", .null, "video", .null), ("HL-UPGRADE-3", "A", .text("A2"), "image", .null),
        ]
        for (index, reference) in references.enumerated() {
            rows.append(
                Row(
                    "cases",
                    [
                        ("position", .integer(Int64(index + 1))), ("id", .text(cases[index].rawValue)),
                        ("reference", .text(reference.0)), ("uk_grade", .text(reference.1)),
                        ("classification", reference.2), ("media_type", .text(reference.3)), ("notes", reference.4),
                        ("created_at", time(Double(index))), ("created_by", .text("analyst:upgrade")),
                    ]))
        }
        rows += noticeRows(level)
        // Items: the first case also has one URL nobody answers for.
        let items: [(CaseID, Int, String, Int, NoticeID?)] = [
            (cases[0], 0, urls[0], 0, notices[0]), (cases[0], 1, urls[1], 1, nil),
            (cases[1], 0, urls[2], 2, notices[1]),
            (cases[2], 0, urls[3], 3, notices[2]),
        ]
        for item in items {
            let hashes = itemHashes[item.3]
            rows.append(
                Row(
                    "case_items",
                    [
                        ("case_id", .text(item.0.rawValue)), ("idx", .integer(Int64(item.1))), ("url", .text(item.2)),
                        ("observed_at", time(-hour)), ("ip", item.4 == nil ? .null : .text("192.0.2.7")),
                        ("md5", .text(hashes.md5!)), ("sha1", .text(hashes.sha1!)), ("sha256", .text(hashes.sha256!)),
                        ("notice_id", item.4.map { .text($0.rawValue) } ?? .null),
                        ("unrouted_reason", item.4 == nil ? .text("no_matching_partner") : .null),
                    ]))
        }
        rows.append(
            Row(
                "idempotency_keys",
                [
                    ("scope", .text(idempotency.scope)), ("key", .text(idempotency.key)),
                    ("request_hash", .text(idempotency.hash)), ("status", .integer(201)),
                    ("body", .blob(Data(#"{"id":"first answer"}"#.utf8))), ("created_at", time(0)),
                ]))
        return rows
    }
}
