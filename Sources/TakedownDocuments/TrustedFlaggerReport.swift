import Foundation
import TakedownModel

/// The yearly report a trusted flagger publishes under Art. 22(3) DSA: its notices in a period, by provider
/// and by the provider's country, what was done about them and how fast. Built from the stored figures;
/// it holds counts, durations, provider names and ids, never a URL, a hash or a person.
public struct TrustedFlaggerReport: Encodable, Sendable, Equatable {
    public struct Issuer: Encodable, Sendable, Equatable {
        public var organisation: String
        public var country: String
        public var trustedFlagger: Bool
        public var designatedBy: String?
        public var scope: String?
    }

    /// What became of the notices: each counted once, by its status at the time of the report.
    public struct Actions: Encodable, Sendable, Equatable {
        /// Reported removed or disabled by the provider (verified ones included).
        public var removed: Int
        /// Of those, confirmed gone by the gateway's own check.
        public var removalVerified: Int
        public var unable: Int
        public var disputed: Int
        public var withdrawn: Int
        public var expired: Int
        /// Still waiting: issued, delivered or acknowledged.
        public var pending: Int

        public init(_ counts: [NoticeStatus: Int]) {
            func count(_ statuses: NoticeStatus...) -> Int { statuses.reduce(0) { $0 + counts[$1, default: 0] } }
            removed = count(.removed, .verified)
            removalVerified = count(.verified)
            unable = count(.unable)
            disputed = count(.disputed)
            withdrawn = count(.withdrawn)
            expired = count(.expired)
            pending = count(.issued, .delivered, .acknowledged)
        }

        var total: Int { removed + unable + disputed + withdrawn + expired + pending }
    }

    /// One provider, one country, or all notices.
    public struct Row: Encodable, Sendable, Equatable {
        public var key: String
        public var name: String
        /// The provider's country (its jurisdiction); for a country row, the country itself.
        public var country: String?
        public var notices: Int
        public var actions: Actions
        /// From issue, over the notices not withdrawn.
        public var medianSecondsToAcknowledge: Double?
        public var p90SecondsToAcknowledge: Double?
        public var medianSecondsToRemoval: Double?
        public var p90SecondsToRemoval: Double?
        public var removedWithin24hShare: Double?

        public init(key: String, name: String, country: String?, counts: [NoticeStatus: Int], figures: RemovalFigures?)
        {
            self.key = key
            self.name = name
            self.country = country
            actions = Actions(counts)
            notices = actions.total
            medianSecondsToAcknowledge = figures?.timeToAcknowledge.medianSeconds
            p90SecondsToAcknowledge = figures?.timeToAcknowledge.p90Seconds
            medianSecondsToRemoval = figures?.timeToRemoval.medianSeconds
            p90SecondsToRemoval = figures?.timeToRemoval.p90Seconds
            removedWithin24hShare = figures?.removedShare.within24h
        }

        enum Keys: String, CodingKey {
            case key, name, country, notices, actions, medianSecondsToAcknowledge, p90SecondsToAcknowledge,
                medianSecondsToRemoval, p90SecondsToRemoval
            // Spelled out: the encoder's snake case would give `removed_within24h_share`.
            case removedWithin24hShare = "removed_within_24h_share"
        }

        /// Every member present, null when there is no figure.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(key, forKey: .key)
            try container.encode(name, forKey: .name)
            try container.encode(country, forKey: .country)
            try container.encode(notices, forKey: .notices)
            try container.encode(actions, forKey: .actions)
            try container.encode(medianSecondsToAcknowledge, forKey: .medianSecondsToAcknowledge)
            try container.encode(p90SecondsToAcknowledge, forKey: .p90SecondsToAcknowledge)
            try container.encode(medianSecondsToRemoval, forKey: .medianSecondsToRemoval)
            try container.encode(p90SecondsToRemoval, forKey: .p90SecondsToRemoval)
            try container.encode(removedWithin24hShare, forKey: .removedWithin24hShare)
        }
    }

    public var report = "dsa-article-22"
    public var issuer: Issuer
    public var from: Date
    public var to: Date
    public var generatedAt: Date
    public var total: Row
    public var byProvider: [Row]
    public var byCountry: [Row]

    public init(
        issuer: IssuerProfile, from: Date, to: Date, generatedAt: Date, total: Row, byProvider: [Row], byCountry: [Row]
    ) {
        self.issuer = Issuer(
            organisation: issuer.organisation, country: issuer.country,
            trustedFlagger: issuer.trustedFlaggerDesignatedBy != nil, designatedBy: issuer.trustedFlaggerDesignatedBy,
            scope: issuer.trustedFlaggerScope)
        self.from = from
        self.to = to
        self.generatedAt = generatedAt
        self.total = total
        self.byProvider = byProvider
        self.byCountry = byCountry
    }

    /// The same rows as CSV (RFC 4180): a `scope` column says `total`, `provider` or `country`.
    public func csv() -> String {
        let header = [
            "scope", "key", "name", "country", "notices", "removed", "removal_verified", "unable", "disputed",
            "withdrawn", "expired", "pending", "median_seconds_to_acknowledge", "p90_seconds_to_acknowledge",
            "median_seconds_to_removal", "p90_seconds_to_removal", "removed_within_24h_share",
        ]
        func number(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "" }
        func line(_ scope: String, _ row: Row) -> String {
            let a = row.actions
            let fields = [
                scope, row.key, row.name, row.country ?? "", "\(row.notices)", "\(a.removed)", "\(a.removalVerified)",
                "\(a.unable)", "\(a.disputed)", "\(a.withdrawn)", "\(a.expired)", "\(a.pending)",
                number(row.medianSecondsToAcknowledge), number(row.p90SecondsToAcknowledge),
                number(row.medianSecondsToRemoval), number(row.p90SecondsToRemoval), number(row.removedWithin24hShare),
            ]
            return fields.map(RemovalCSV.quote).joined(separator: ",")
        }
        var lines = [header.joined(separator: ","), line("total", total)]
        lines += byProvider.map { line("provider", $0) }
        lines += byCountry.map { line("country", $0) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
