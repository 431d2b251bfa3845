import Foundation
import TakedownModel

// Each listing's SELECT, written once for both stores: which filter reads which column, and in what order
// the rows come. The stores render it in their dialect and read the rows.

extension SQLValue {
    /// A time as both stores keep it: seconds since 1970.
    public static func time(_ date: Date) -> SQLValue { .double(date.timeIntervalSince1970) }
}

extension NoticeFilter {
    /// One page of notices in issue order, of `columns` from `table` (a store may read whole notices from a
    /// view), after `position`, of one partner's when `partner` is given.
    public func listing(_ columns: String, from table: String, after position: Int64, limit: Int, partner: PartnerID?)
        -> Listing
    {
        var listing = Listing("SELECT \(columns) FROM \(table)", order: "position", limit: limit)
        listing.filter("position", ">", .integer(position))
        listing.filter("partner_id", partner.map { .text($0.rawValue) })
        listing.filter("status", oneOf: statuses.map { $0.map(\.rawValue).sorted() })
        listing.filter("deadline_at", "<", deadlineBefore.map { .time($0) })
        return listing
    }
}

extension RemovalFigureQueries {
    /// Every chosen notice with its partner's name and jurisdiction and its clocks, in issue order.
    public static func removalRows(_ filter: Filter) -> Listing {
        filter.listing(
            """
            SELECT n.id, n.partner_id, p.name, p.jurisdiction, n.status, n.issued_at, n.deadline_at, n.acknowledged_at,
                   n.removed_at, n.verified_at
            FROM notices n JOIN partners p ON p.id = n.partner_id
            """, order: "n.position")
    }
}

extension CaseQuery {
    /// The cases asked for, in the order they came.
    public var listing: Listing {
        var listing = Listing("SELECT * FROM cases", order: "position", limit: limit)
        listing.filter("position", ">", .integer(after))
        listing.filter("reference", reference.map { .text($0) })
        listing.filter("created_at", ">=", createdFrom.map { .time($0) })
        listing.filter("created_at", "<", createdTo.map { .time($0) })
        if unroutedOnly {
            listing.require("EXISTS (SELECT 1 FROM case_items i WHERE i.case_id = cases.id AND i.notice_id IS NULL)")
            // A held case's items wait for release, not for routing.
            listing.require(
                "NOT EXISTS (SELECT 1 FROM police_holds h WHERE h.case_id = cases.id AND h.status = 'held')")
        }
        return listing
    }
}

extension DeliveryQuery {
    /// The deliveries asked for, in the order they were written.
    public var listing: Listing {
        var listing = Listing("SELECT * FROM deliveries", order: "position", limit: limit)
        listing.filter("position", ">", .integer(after))
        listing.filter("notice_id", notice.map { .text($0.rawValue) })
        listing.filter("partner_id", partner.map { .text($0.rawValue) })
        listing.filter("state", state.map { .text($0.rawValue) })
        return listing
    }
}

extension HoldQuery {
    /// The holds asked for, newest first.
    public var listing: Listing {
        var listing = Listing("SELECT record FROM police_holds", order: "held_at DESC, id DESC", limit: limit)
        listing.filter("police_partner_id", policePartner.map { .text($0.rawValue) })
        listing.filter("status", status.map { .text($0.rawValue) })
        listing.filter("held_at", ">=", heldFrom.map { .time($0) })
        listing.filter("held_at", "<", heldTo.map { .time($0) })
        return listing
    }
}

extension ReferralQuery {
    /// The referrals asked for, in the order they arrived.
    public var listing: Listing {
        var listing = Listing("SELECT * FROM referrals", order: "position", limit: limit)
        listing.filter("position", ">", .integer(after))
        listing.filter("state", state.map { .text($0.rawValue) })
        listing.filter("sender_id", sender.map { .text($0.rawValue) })
        return listing
    }
}

extension HashListFeedback {
    /// One page of a list's feedback in the order it came, of one status or one partner's when given.
    public static func listing(
        _ list: HashListID, status: Status?, partner: PartnerID?, after position: Int64, limit: Int
    ) -> Listing {
        var listing = Listing("SELECT * FROM hash_list_feedback", order: "position", limit: limit)
        listing.filter("list_id", .text(list.rawValue))
        listing.filter("status", status.map { .text($0.rawValue) })
        listing.filter("partner_id", partner.map { .text($0.rawValue) })
        listing.filter("position", ">", .integer(position))
        return listing
    }
}
