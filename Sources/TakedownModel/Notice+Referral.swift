import Foundation

extension Notice {
    /// The timeline event name of a peer's status update: `referral_` and the status.
    public static let referralEventPrefix = "referral_"

    /// The highest update sequence from the peer applied to this notice (0 for none).
    public var referralSequence: Int {
        timeline.lazy.filter { $0.event.hasPrefix(Self.referralEventPrefix) }
            .compactMap { event -> Int? in
                guard let detail = event.detail, detail.hasPrefix("update ") else { return nil }
                return Int(detail.dropFirst(7).prefix { $0.isNumber })
            }.max() ?? 0
    }

    /// The status the peer last reported (`accepted`, `removed`, …); nil before its first update.
    public var referralStatus: String? {
        timeline.last { $0.event.hasPrefix(Self.referralEventPrefix) }.map {
            String($0.event.dropFirst(Self.referralEventPrefix.count))
        }
    }

    /// Applies a peer hotline's update about the referral this notice carried: the update goes on the
    /// timeline, an acceptance or a notice there counts as acknowledged, a decline as unable to act, and
    /// each removal the peer reports as a removal of that URL at its time (never before issue). An update
    /// at or below the last sequence applied changes nothing. Returns whether anything changed.
    public mutating func applyReferralUpdate(
        status: String, sequence: Int, receivedAs: String, reason: String?, removals: [(url: String, at: Date)],
        at now: Date, actor: String
    ) -> Bool {
        guard sequence > referralSequence else { return false }
        var detail = "update \(sequence) (\(receivedAs.prefix(64)))"
        if let reason { detail += ": " + reason.prefix(2000) }
        timeline.append(
            TimelineEvent(at: now, event: Self.referralEventPrefix + status.prefix(40), actor: actor, detail: detail))
        switch status {
        case "declined":
            _ = try? apply(
                .unable(reason: "declined by the peer hotline: \(reason ?? "no reason given")"), at: now, actor: actor)
        case "accepted", "notice_issued", "acknowledged", "removed", "verified":
            _ = try? apply(.acknowledge, at: now, actor: actor)
        default:
            break
        }
        let known = Set(items.map(\.url))
        for (url, removedAt) in removals where known.contains(url) {
            _ = try? apply(
                .removal(action: .removed, removedAt: max(removedAt, issuedAt), urls: [url]), at: now, actor: actor)
        }
        return true
    }
}
