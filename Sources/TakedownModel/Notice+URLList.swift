import Foundation

extension Notice {
    /// Where each of the notice's URLs stands on the URL lists: live from issue while removal is pending,
    /// leaving with a reason once verification finds it gone (`gone`) or the notice is withdrawn.
    public var urlListStanding: [(url: String, leaving: DeletionReason?)] {
        Self.urlListStanding(status: status, items: items)
    }

    public static func urlListStanding(status: NoticeStatus, items: [NoticeItem]) -> [(
        url: String, leaving: DeletionReason?
    )] {
        items.map { item in
            if status == .withdrawn { return (item.url, .withdrawn) }
            return (item.url, item.verifiedAt == nil ? nil : .gone)
        }
    }

    /// Whether a write of the notice may move its URLs on the URL lists: after a round of checks
    /// (`checked`: a URL found gone may be served again), or when the notice is withdrawn or has an item found
    /// gone. Other writes (answers, deliveries, reminders) leave the lists alone and pay nothing for them.
    public func movesURLLists(checked: Bool) -> Bool {
        checked || status == .withdrawn || items.contains { $0.verifiedAt != nil }
    }
}
