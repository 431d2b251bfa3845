import Foundation
import TakedownModel

/// What the console lists notices by: open ones by time left, or a provider's inbox with its overdue
/// notices first and then the newest.
public struct NoticeBoardQuery: Sendable, Equatable {
    public enum Order: Sendable, Equatable {
        /// Open notices only, the nearest deadline first, so overdue ones lead.
        case openByDeadline
        /// Every notice: open ones past their deadline at `now` first, then by issue, newest first.
        case overdueThenNewest(now: Date)
    }

    public var order: Order
    /// Only this partner's notices; nil for all.
    public var partner: PartnerID?
    public var limit: Int
    public var offset: Int

    public init(order: Order, partner: PartnerID? = nil, limit: Int, offset: Int = 0) {
        self.order = order
        self.partner = partner
        self.limit = limit
        self.offset = offset
    }
}

/// Notice counts for a dashboard.
public struct NoticeCounts: Sendable, Equatable {
    public var open: Int
    /// Open and past their deadline.
    public var overdue: Int
    /// Issued at or after each of the times asked about, in the same order.
    public var issuedSince: [Int]

    public init(open: Int, overdue: Int, issuedSince: [Int]) {
        self.open = open
        self.overdue = overdue
        self.issuedSince = issuedSince
    }
}

/// The console's reads of notices, served by indexes so a board of many thousand open notices stays quick.
public protocol NoticeBoardStore: Sendable {
    func noticeBoard(_ query: NoticeBoardQuery) async throws -> [Notice]
    /// How many of all notices (or one partner's) are open, overdue at `now`, and issued since each time.
    func noticeCounts(partner: PartnerID?, now: Date, issuedSince: [Date]) async throws -> NoticeCounts
}

extension NoticeStatus {
    /// The open statuses as an SQL list of literals, so a partial index over them is used (a bound list is
    /// not provably the index's).
    public static let openSQLList = allCases.filter(\.isOpen).map { "'\($0.rawValue)'" }.joined(separator: ", ")
}
