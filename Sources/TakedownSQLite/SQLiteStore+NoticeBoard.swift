import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func noticeBoard(_ query: NoticeBoardQuery) async throws -> [Notice] {
        var clauses: [String] = []
        var values: [(any DatabaseValueConvertible)?] = []
        let order: String
        switch query.order {
        case .openByDeadline:
            clauses.append("status IN (\(NoticeStatus.openSQLList))")
            order = "deadline_at, position"
        case .overdueThenNewest(let now):
            order = "(status IN (\(NoticeStatus.openSQLList)) AND deadline_at < ?) DESC, issued_at DESC, position DESC"
            values.append(now.storedValue)
        }
        if let partner = query.partner {
            clauses.append("partner_id = ?")
            values.insert(partner.rawValue, at: 0)
        }
        values += [query.limit, query.offset]
        if case .overdueThenNewest(let now) = query.order { values.append(now.storedValue) }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        // The page's positions are chosen over narrow rows, then only its rows are read whole: sorting
        // thousands of whole rows (documents and signatures) is what made an inbox of 10,000 slow.
        let sql = """
            SELECT * FROM notice_rows WHERE position IN (
                SELECT position FROM notices \(filter) ORDER BY \(order) LIMIT ? OFFSET ?)
            ORDER BY \(order)
            """
        let arguments = StatementArguments(values)
        return try await guarded {
            try await pool.read { db in
                try Self.notices(from: try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments), db)
            }
        }
    }

    public func noticeCounts(partner: PartnerID?, now: Date, issuedSince: [Date]) async throws -> NoticeCounts {
        let scope = partner == nil ? "" : " AND partner_id = ?"
        let partnerValue: [String] = partner.map { [$0.rawValue] } ?? []
        return try await guarded {
            try await pool.read { db in
                let open = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM notices WHERE status IN (\(NoticeStatus.openSQLList))\(scope)",
                    arguments: StatementArguments(partnerValue))
                let overdue = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM notices
                        WHERE status IN (\(NoticeStatus.openSQLList)) AND deadline_at < ?\(scope)
                        """,
                    arguments: StatementArguments([now.storedValue]) + StatementArguments(partnerValue))
                let issued = try issuedSince.map { since in
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM notices WHERE issued_at >= ?\(scope)",
                        arguments: StatementArguments([since.storedValue]) + StatementArguments(partnerValue)) ?? 0
                }
                return NoticeCounts(open: open ?? 0, overdue: overdue ?? 0, issuedSince: issued)
            }
        }
    }
}
