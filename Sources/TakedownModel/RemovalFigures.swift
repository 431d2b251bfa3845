import Foundation

/// One notice's clock, as the removal figures read it.
public struct RemovalRow: Codable, Sendable, Equatable {
    public var noticeId: NoticeID
    public var partnerId: PartnerID
    public var partnerName: String
    public var jurisdiction: String
    public var status: NoticeStatus
    public var issuedAt: Date
    public var deadlineAt: Date
    public var acknowledgedAt: Date?
    public var removedAt: Date?
    /// When verification found every item gone.
    public var verifiedAt: Date?

    public init(
        noticeId: NoticeID, partnerId: PartnerID, partnerName: String, jurisdiction: String, status: NoticeStatus,
        issuedAt: Date, deadlineAt: Date, acknowledgedAt: Date?, removedAt: Date?, verifiedAt: Date? = nil
    ) {
        self.noticeId = noticeId
        self.partnerId = partnerId
        self.partnerName = partnerName
        self.jurisdiction = jurisdiction
        self.status = status
        self.issuedAt = issuedAt
        self.deadlineAt = deadlineAt
        self.acknowledgedAt = acknowledgedAt
        self.removedAt = removedAt
        self.verifiedAt = verifiedAt
    }

    public var secondsToAcknowledge: Double? { acknowledgedAt.map { $0.timeIntervalSince(issuedAt) } }
    public var secondsToRemoval: Double? { removedAt.map { $0.timeIntervalSince(issuedAt) } }
    public var secondsToVerifiedRemoval: Double? { verifiedAt.map { $0.timeIntervalSince(issuedAt) } }
}

/// Time-to-acknowledgement and time-to-removal figures of a set of notices, as hotlines publish them.
///
/// Withdrawn notices are left out (staff took them back). The median is the middle value (the mean of
/// the two middle values for an even count); p90 is the nearest-rank 90th percentile (the value at rank
/// ⌈0.9 n⌉). "Removed within" shares are of every notice counted, removed or not. Verified removal counts
/// from issue to the check that found the last item gone.
public struct RemovalFigures: Codable, Sendable, Equatable {
    public struct Durations: Codable, Sendable, Equatable {
        public var count: Int
        public var medianSeconds: Double?
        public var p90Seconds: Double?

        public init(count: Int, medianSeconds: Double?, p90Seconds: Double?) {
            self.count = count
            self.medianSeconds = medianSeconds
            self.p90Seconds = p90Seconds
        }
    }

    public struct Shares: Codable, Sendable, Equatable {
        public var within24h: Double?
        public var within72h: Double?
        public var within7d: Double?

        public init(within24h: Double?, within72h: Double?, within7d: Double?) {
            self.within24h = within24h
            self.within72h = within72h
            self.within7d = within7d
        }

        enum CodingKeys: String, CodingKey {
            case within24h = "within_24h"
            case within72h = "within_72h"
            case within7d = "within_7d"
        }
    }

    public var notices: Int
    public var acknowledged: Int
    public var removed: Int
    /// Notices whose every item the gateway's own checks found gone.
    public var verified: Int
    public var timeToAcknowledge: Durations
    public var timeToRemoval: Durations
    public var timeToVerifiedRemoval: Durations
    public var removedShare: Shares
    /// Shares of every notice counted that were verified removed within each time.
    public var verifiedShare: Shares

    public init(
        notices: Int, acknowledged: Int, removed: Int, verified: Int, timeToAcknowledge: Durations,
        timeToRemoval: Durations, timeToVerifiedRemoval: Durations, removedShare: Shares, verifiedShare: Shares
    ) {
        self.notices = notices
        self.acknowledged = acknowledged
        self.removed = removed
        self.verified = verified
        self.timeToAcknowledge = timeToAcknowledge
        self.timeToRemoval = timeToRemoval
        self.timeToVerifiedRemoval = timeToVerifiedRemoval
        self.removedShare = removedShare
        self.verifiedShare = verifiedShare
    }

    /// The figures of rows already in memory; the stores compute the same figures in the database.
    public init(_ rows: [RemovalRow]) {
        let counted = rows.filter { $0.status != .withdrawn }
        notices = counted.count
        let acknowledge = counted.compactMap(\.secondsToAcknowledge)
        let removal = counted.compactMap(\.secondsToRemoval)
        acknowledged = acknowledge.count
        let verification = counted.compactMap(\.secondsToVerifiedRemoval)
        removed = removal.count
        verified = verification.count
        timeToAcknowledge = Self.durations(acknowledge)
        timeToRemoval = Self.durations(removal)
        timeToVerifiedRemoval = Self.durations(verification)
        func shares(_ values: [Double]) -> Shares {
            func share(_ limit: Double) -> Double? {
                counted.isEmpty ? nil : Double(values.filter { $0 <= limit }.count) / Double(counted.count)
            }
            return Shares(within24h: share(86_400), within72h: share(3 * 86_400), within7d: share(7 * 86_400))
        }
        removedShare = shares(removal)
        verifiedShare = shares(verification)
    }

    /// The count, median and nearest-rank p90 of some durations, in any order.
    public static func durations(_ values: [Double]) -> Durations {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return Durations(count: 0, medianSeconds: nil, p90Seconds: nil) }
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))
        return Durations(count: sorted.count, medianSeconds: median, p90Seconds: sorted[max(rank, 1) - 1])
    }
}

/// How removal figures are grouped.
public enum RemovalGrouping: String, Codable, Sendable, CaseIterable {
    case partner
    case jurisdiction
    case month

    /// The group key and its human label for a row.
    public func key(of row: RemovalRow) -> (key: String, label: String) {
        switch self {
        case .partner: return (row.partnerId.rawValue, row.partnerName)
        case .jurisdiction: return (row.jurisdiction, row.jurisdiction)
        case .month:
            let month = row.issuedAt.formatted(
                Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).year().month())
            return (month, month)
        }
    }
}
