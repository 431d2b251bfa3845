import Foundation
import TakedownModel
import TakedownStore

extension NoticeDesk {
    /// A page of notices for the console: staff see every provider's open notices by time left; a partner
    /// sees only its own, overdue first, then the newest, whatever it asks for.
    public func noticeBoard(offset: Int, limit: Int, for principal: Principal) async throws -> [Notice] {
        guard let partner = principal.partnerID else {
            return try await store.noticeBoard(NoticeBoardQuery(order: .openByDeadline, limit: limit, offset: offset))
        }
        return try await store.noticeBoard(
            NoticeBoardQuery(order: .overdueThenNewest(now: clock()), partner: partner, limit: limit, offset: offset))
    }

    /// Open and overdue notices, and those issued since each time: of every provider for staff, of its own
    /// for a partner.
    public func noticeCounts(issuedSince: [Date], for principal: Principal) async throws -> NoticeCounts {
        try await store.noticeCounts(partner: principal.partnerID, now: clock(), issuedSince: issuedSince)
    }
}
