import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func removalFigures(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [RemovalGroupFigures]
    {
        let (countsSQL, countsValues) = RemovalFigureQueries.counts(filter, groupBy: groupBy, .postgres)
        let counts = try await rows(PostgresQuery((countsSQL, countsValues))).map { row in
            RemovalFigureQueries.Counts(
                key: try row.get("grp"), label: try row.get("label"),
                notices: Int(try row.get("notices", as: Int64.self)),
                acknowledged: Int(try row.get("acknowledged", as: Int64.self)),
                removed: Int(try row.get("removed", as: Int64.self)),
                verified: Int(try row.get("verified", as: Int64.self)),
                removedWithin: try (0..<3).map { Int(try row.get("removed_at_\($0)", as: Int64.self)) },
                verifiedWithin: try (0..<3).map { Int(try row.get("verified_at_\($0)", as: Int64.self)) })
        }
        var ranks: [RemovalFigureQueries.Measure: [RemovalFigureQueries.Ranked]] = [:]
        for measure in RemovalFigureQueries.Measure.allCases {
            let (sql, values) = RemovalFigureQueries.ranks(measure, filter, groupBy: groupBy, .postgres)
            ranks[measure] = try await rows(PostgresQuery((sql, values))).map { row in
                RemovalFigureQueries.Ranked(
                    key: try row.get("grp"), count: Int(try row.get("cnt", as: Int64.self)),
                    rank: Int(try row.get("rnk", as: Int64.self)), seconds: try row.get("seconds"))
            }
        }
        return RemovalFigureQueries.groups(counts, ranks: ranks)
    }

    public func noticeStatusCounts(_ filter: RemovalFigureQueries.Filter, groupBy: RemovalGrouping?) async throws
        -> [String: [NoticeStatus: Int]]
    {
        let (sql, values) = RemovalFigureQueries.statuses(filter, groupBy: groupBy, .postgres)
        var counts: [String: [NoticeStatus: Int]] = [:]
        for row in try await rows(PostgresQuery((sql, values))) {
            guard let status = NoticeStatus(rawValue: try row.get("status", as: String.self)) else { continue }
            counts[try row.get("grp", as: String.self), default: [:]][status] = Int(try row.get("n", as: Int64.self))
        }
        return counts
    }

}
