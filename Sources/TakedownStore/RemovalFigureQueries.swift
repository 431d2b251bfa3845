import Foundation
import TakedownModel

/// The SQL behind removal figures, written once for both stores: the database counts, ranks and picks
/// the median and p90 of each group, so figures over millions of notices cost the gateway a few rows.
///
/// The texts differ between the stores only in placeholders and in how a month is read off a time.
public enum RemovalFigureQueries {
    public typealias Dialect = SQLDialect
    public typealias Value = SQLValue

    /// Which notices the figures are of.
    public struct Filter: Sendable {
        public var issuedFrom: Date?
        public var issuedTo: Date?
        public var partner: PartnerID?

        public init(issuedFrom: Date? = nil, issuedTo: Date? = nil, partner: PartnerID? = nil) {
            self.issuedFrom = issuedFrom
            self.issuedTo = issuedTo
            self.partner = partner
        }
    }

    /// The clock a duration is read from, counted from issue.
    public enum Measure: String, CaseIterable, Sendable {
        case acknowledge = "acknowledged_at"
        case removal = "removed_at"
        case verifiedRemoval = "verified_at"
    }

    /// One group's counts: notices (withdrawn left out), how many were acknowledged, removed and verified,
    /// and how many were removed and verified within 24 h, 72 h and 7 days.
    public struct Counts: Sendable, Equatable {
        public var key: String
        public var label: String
        public var notices: Int
        public var acknowledged: Int
        public var removed: Int
        public var verified: Int
        public var removedWithin: [Int]
        public var verifiedWithin: [Int]

        public init(
            key: String, label: String, notices: Int, acknowledged: Int, removed: Int, verified: Int,
            removedWithin: [Int], verifiedWithin: [Int]
        ) {
            self.key = key
            self.label = label
            self.notices = notices
            self.acknowledged = acknowledged
            self.removed = removed
            self.verified = verified
            self.removedWithin = removedWithin
            self.verifiedWithin = verifiedWithin
        }
    }

    /// A duration at a rank of its group, 1-based, out of `count`.
    public struct Ranked: Sendable, Equatable {
        public var key: String
        public var count: Int
        public var rank: Int
        public var seconds: Double

        public init(key: String, count: Int, rank: Int, seconds: Double) {
            self.key = key
            self.count = count
            self.rank = rank
            self.seconds = seconds
        }
    }

    static let limits: [Double] = [86_400, 3 * 86_400, 7 * 86_400]

    /// Every group of the filtered notices, withdrawn ones included (a group may count no notice).
    public static func counts(_ filter: Filter, groupBy: RemovalGrouping?, _ dialect: Dialect) -> (String, [Value]) {
        var values: [Value] = []
        let (key, label) = keyAndLabel(groupBy, dialect)
        func within(_ column: String) -> String {
            limits.enumerated().map { index, limit in
                "SUM(CASE WHEN counted AND \(column) - issued_at <= \(limit) THEN 1 ELSE 0 END) AS \(column)_\(index)"
            }.joined(separator: ", ")
        }
        // Grouped by a column of a derived table: PostgreSQL refuses a constant (the one group `all`) in
        // GROUP BY or PARTITION BY directly.
        let sql = """
            SELECT grp, MIN(label) AS label,
                   SUM(CASE WHEN counted THEN 1 ELSE 0 END) AS notices,
                   SUM(CASE WHEN counted AND acknowledged_at IS NOT NULL THEN 1 ELSE 0 END) AS acknowledged,
                   SUM(CASE WHEN counted AND removed_at IS NOT NULL THEN 1 ELSE 0 END) AS removed,
                   SUM(CASE WHEN counted AND verified_at IS NOT NULL THEN 1 ELSE 0 END) AS verified,
                   \(within("removed_at")), \(within("verified_at"))
            FROM (
                SELECT \(key) AS grp, \(label) AS label, n.status <> 'withdrawn' AS counted, n.issued_at,
                       n.acknowledged_at, n.removed_at, n.verified_at
                FROM notices n JOIN partners p ON p.id = n.partner_id
                WHERE \(conditions(filter, &values, dialect))
            ) chosen
            GROUP BY grp
            """
        return (sql, values)
    }

    /// The durations at the median ranks and the nearest-rank p90 of each group, for one measure.
    public static func ranks(_ measure: Measure, _ filter: Filter, groupBy: RemovalGrouping?, _ dialect: Dialect)
        -> (String, [Value])
    {
        var values: [Value] = []
        let (key, _) = keyAndLabel(groupBy, dialect)
        let duration = "(n.\(measure.rawValue) - n.issued_at)"
        let sql = """
            SELECT grp, cnt, rnk, seconds FROM (
                SELECT grp, seconds, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY seconds) AS rnk,
                       COUNT(*) OVER (PARTITION BY grp) AS cnt
                FROM (
                    SELECT \(key) AS grp, \(duration) AS seconds
                    FROM notices n JOIN partners p ON p.id = n.partner_id
                    WHERE n.status <> 'withdrawn' AND n.\(measure.rawValue) IS NOT NULL
                      AND \(conditions(filter, &values, dialect))
                ) chosen
            ) ranked
            WHERE rnk = (cnt + 1) / 2 OR rnk = (cnt + 2) / 2 OR rnk = (9 * cnt + 9) / 10
            """
        return (sql, values)
    }

    /// How many notices of each group are in each status (withdrawn ones included): what was done about them.
    public static func statuses(_ filter: Filter, groupBy: RemovalGrouping?, _ dialect: Dialect) -> (String, [Value]) {
        var values: [Value] = []
        let (key, _) = keyAndLabel(groupBy, dialect)
        let sql = """
            SELECT grp, status, COUNT(*) AS n FROM (
                SELECT \(key) AS grp, n.status AS status
                FROM notices n JOIN partners p ON p.id = n.partner_id
                WHERE \(conditions(filter, &values, dialect))
            ) chosen
            GROUP BY grp, status
            """
        return (sql, values)
    }

    /// The figures of each group, sorted by key, from what the two kinds of query returned.
    public static func groups(_ counts: [Counts], ranks: [Measure: [Ranked]]) -> [RemovalGroupFigures] {
        counts.sorted { $0.key < $1.key }.map { group in
            func durations(_ measure: Measure) -> RemovalFigures.Durations {
                let mine = (ranks[measure] ?? []).filter { $0.key == group.key }
                guard let count = mine.first?.count else { return .init(count: 0, medianSeconds: nil, p90Seconds: nil) }
                func at(_ rank: Int) -> Double? { mine.first { $0.rank == rank }?.seconds }
                let low = at((count + 1) / 2)
                let high = at((count + 2) / 2)
                let median = count % 2 == 1 ? low : zip2(low, high).map { ($0 + $1) / 2 }
                return .init(count: count, medianSeconds: median, p90Seconds: at((9 * count + 9) / 10))
            }
            func shares(_ within: [Int]) -> RemovalFigures.Shares {
                func share(_ index: Int) -> Double? {
                    group.notices == 0 ? nil : Double(within[index]) / Double(group.notices)
                }
                return .init(within24h: share(0), within72h: share(1), within7d: share(2))
            }
            let figures = RemovalFigures(
                notices: group.notices, acknowledged: group.acknowledged, removed: group.removed,
                verified: group.verified, timeToAcknowledge: durations(.acknowledge),
                timeToRemoval: durations(.removal), timeToVerifiedRemoval: durations(.verifiedRemoval),
                removedShare: shares(group.removedWithin), verifiedShare: shares(group.verifiedWithin))
            return RemovalGroupFigures(key: group.key, label: group.label, figures: figures)
        }
    }

    static func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
        guard let a, let b else { return nil }
        return (a, b)
    }

    static func keyAndLabel(_ grouping: RemovalGrouping?, _ dialect: Dialect) -> (String, String) {
        switch grouping {
        case nil: return ("'all'", "'All notices'")
        case .partner: return ("n.partner_id", "p.name")
        case .jurisdiction: return ("p.jurisdiction", "p.jurisdiction")
        case .month:
            switch dialect {
            case .sqlite:
                return ("strftime('%Y-%m', n.issued_at, 'unixepoch')", "strftime('%Y-%m', n.issued_at, 'unixepoch')")
            case .postgres:
                let month = "to_char(to_timestamp(n.issued_at) AT TIME ZONE 'UTC', 'YYYY-MM')"
                return (month, month)
            }
        }
    }

    static func conditions(_ filter: Filter, _ values: inout [Value], _ dialect: Dialect) -> String {
        let (text, bound) = filter.listing("").whereClause(dialect, firstPlaceholder: values.count + 1)
        values += bound
        return text
    }
}

extension RemovalFigureQueries.Filter {
    /// The notices chosen, as a listing of `head` over notices `n` joined with their partners `p`.
    public func listing(_ head: String, order: String? = nil) -> Listing {
        var listing = Listing(head, order: order)
        listing.filter("n.issued_at", ">=", issuedFrom.map { .double($0.timeIntervalSince1970) })
        listing.filter("n.issued_at", "<", issuedTo.map { .double($0.timeIntervalSince1970) })
        listing.filter("n.partner_id", partner.map { .text($0.rawValue) })
        return listing
    }
}

/// The figures of one group of notices: a partner, a jurisdiction, a month, or all.
public struct RemovalGroupFigures: Sendable, Equatable {
    public var key: String
    public var label: String
    public var figures: RemovalFigures

    public init(key: String, label: String, figures: RemovalFigures) {
        self.key = key
        self.label = label
        self.figures = figures
    }
}
