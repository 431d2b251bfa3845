import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func noticeBoard(_ query: NoticeBoardQuery) async throws -> [Notice] {
        // The page's positions are chosen over narrow rows, then only its rows are read whole.
        var sql = SQL("SELECT * FROM notices WHERE position IN (SELECT position FROM notices WHERE true")
        if case .openByDeadline = query.order {
            sql.append(" AND status IN (\(NoticeStatus.openSQLList))")
        }
        if let partner = query.partner {
            sql.append(" AND partner_id = ")
            sql.bind(partner.rawValue)
        }
        Self.order(query.order, &sql)
        sql.append(" LIMIT ")
        sql.bind(query.limit)
        sql.append(" OFFSET ")
        sql.bind(query.offset)
        sql.append(")")
        Self.order(query.order, &sql)
        return try await Self.notices(from: try await rows(sql.query), self)
    }

    private static func order(_ order: NoticeBoardQuery.Order, _ sql: inout SQL) {
        switch order {
        case .openByDeadline:
            sql.append(" ORDER BY deadline_at, position")
        case .overdueThenNewest(let now):
            sql.append(" ORDER BY (status IN (\(NoticeStatus.openSQLList)) AND deadline_at < ")
            sql.bind(now.stored)
            sql.append(") DESC, issued_at DESC, position DESC")
        }
    }

    public func noticeCounts(partner: PartnerID?, now: Date, issuedSince: [Date]) async throws -> NoticeCounts {
        var sql = SQL("SELECT count(*) FILTER (WHERE status IN (\(NoticeStatus.openSQLList))) AS open, ")
        sql.append("count(*) FILTER (WHERE status IN (\(NoticeStatus.openSQLList)) AND deadline_at < ")
        sql.bind(now.stored)
        sql.append(") AS overdue")
        for (index, since) in issuedSince.enumerated() {
            sql.append(", count(*) FILTER (WHERE issued_at >= ")
            sql.bind(since.stored)
            sql.append(") AS issued_\(index)")
        }
        sql.append(" FROM notices")
        if let partner {
            sql.append(" WHERE partner_id = ")
            sql.bind(partner.rawValue)
        }
        guard let row = try await rows(sql.query).first else {
            return NoticeCounts(open: 0, overdue: 0, issuedSince: [])
        }
        return NoticeCounts(
            open: Int(try row.get("open", as: Int64.self)), overdue: Int(try row.get("overdue", as: Int64.self)),
            issuedSince: try issuedSince.indices.map { Int(try row.get("issued_\($0)", as: Int64.self)) })
    }
}
