import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func removalFigures(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [RemovalGroupFigures]
    {
        try await guarded {
            try await pool.read { db in
                let (countsSQL, countsValues) = RemovalFigureQueries.counts(filter, groupBy: groupBy, .sqlite)
                let counts = try Row.fetchAll(db, sql: countsSQL, arguments: StatementArguments(countsValues)).map {
                    row in
                    RemovalFigureQueries.Counts(
                        key: row["grp"], label: row["label"], notices: row["notices"],
                        acknowledged: row["acknowledged"],
                        removed: row["removed"], verified: row["verified"],
                        removedWithin: (0..<3).map { row["removed_at_\($0)"] },
                        verifiedWithin: (0..<3).map { row["verified_at_\($0)"] })
                }
                var ranks: [RemovalFigureQueries.Measure: [RemovalFigureQueries.Ranked]] = [:]
                for measure in RemovalFigureQueries.Measure.allCases {
                    let (sql, values) = RemovalFigureQueries.ranks(measure, filter, groupBy: groupBy, .sqlite)
                    ranks[measure] = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                        RemovalFigureQueries.Ranked(
                            key: row["grp"], count: row["cnt"], rank: row["rnk"], seconds: row["seconds"])
                    }
                }
                return RemovalFigureQueries.groups(counts, ranks: ranks)
            }
        }
    }

    public func noticeStatusCounts(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [String: [NoticeStatus: Int]]
    {
        let (sql, values) = RemovalFigureQueries.statuses(filter, groupBy: groupBy, .sqlite)
        return try await guarded {
            try await pool.read { db in
                var counts: [String: [NoticeStatus: Int]] = [:]
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)) {
                    guard let status = NoticeStatus(rawValue: row["status"]) else { continue }
                    counts[row["grp"], default: [:]][status] = row["n"]
                }
                return counts
            }
        }
    }

}
