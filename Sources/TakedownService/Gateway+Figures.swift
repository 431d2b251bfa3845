import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore

/// Removal figures for a window, grouped as asked.
public struct RemovalReport: Encodable, Sendable {
    public struct Group: Encodable, Sendable {
        public var key: String
        public var label: String
        public var figures: RemovalFigures

        enum Keys: String, CodingKey { case key, label }

        public func encode(to encoder: any Encoder) throws {
            try figures.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(key, forKey: .key)
            try container.encode(label, forKey: .label)
        }
    }

    public var from: Date?
    public var to: Date?
    public var groupBy: RemovalGrouping?
    public var groups: [Group]
}

/// One provider's figures, overall and by month.
public struct Scorecard: Encodable, Sendable {
    public var partnerId: PartnerID
    public var name: String
    public var overall: RemovalFigures
    public var byMonth: [RemovalReport.Group]
}

extension FigureDesk {
    public func removalRows(from: Date?, to: Date?, partner: PartnerID?) async throws -> [RemovalRow] {
        if let from, let to, from >= to {
            throw GatewayError.badParameter(name: "to", reason: "must be after from")
        }
        return try await store.removalRows(issuedFrom: from, issuedTo: to, partner: partner)
    }

    /// Figures of the notices issued in [from, to), in one group or grouped by partner, jurisdiction or month.
    /// The database counts and ranks; the gateway never holds the notices of the window in memory.
    public func removalReport(from: Date?, to: Date?, groupBy: RemovalGrouping?) async throws -> RemovalReport {
        if let from, let to, from >= to {
            throw GatewayError.badParameter(name: "to", reason: "must be after from")
        }
        let groups = try await store.removalFigures(.init(issuedFrom: from, issuedTo: to), groupBy: groupBy)
        return RemovalReport(
            from: from, to: to, groupBy: groupBy,
            groups: groups.isEmpty && groupBy == nil
                ? [.init(key: "all", label: "All notices", figures: RemovalFigures([]))] : groups.map(Self.group))
    }

    public func scorecard(_ id: PartnerID) async throws -> Scorecard {
        let partner = try await gateway.partnerDesk.partner(id)
        let filter = RemovalFigureQueries.Filter(partner: id)
        let overall = try await store.removalFigures(filter, groupBy: nil).first?.figures ?? RemovalFigures([])
        let byMonth = try await store.removalFigures(filter, groupBy: .month).map(Self.group)
        return Scorecard(partnerId: id, name: partner.name, overall: overall, byMonth: byMonth)
    }

    static func group(_ figures: RemovalGroupFigures) -> RemovalReport.Group {
        RemovalReport.Group(key: figures.key, label: figures.label, figures: figures.figures)
    }

}

extension FigureDesk {
    /// The Art. 22 DSA report for the notices issued in [from, to), by default the last calendar year (UTC):
    /// by provider, by the provider's country, and in all, from the database's counts and ranks (nothing per
    /// notice is held in memory).
    public func trustedFlaggerReport(from: Date?, to: Date?) async throws -> TrustedFlaggerReport {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let thisYear = calendar.dateInterval(of: .year, for: clock())?.start ?? clock()
        let from = from ?? calendar.date(byAdding: .year, value: -1, to: thisYear) ?? thisYear
        let to = to ?? thisYear
        guard from < to else { throw GatewayError.badParameter(name: "to", reason: "must be after from") }
        let filter = RemovalFigureQueries.Filter(issuedFrom: from, issuedTo: to)
        let partners = Dictionary(uniqueKeysWithValues: try await store.partners().map { ($0.id.rawValue, $0) })
        func rows(_ grouping: RemovalGrouping?) async throws -> [TrustedFlaggerReport.Row] {
            let counts = try await store.noticeStatusCounts(filter, groupBy: grouping)
            let figures = Dictionary(
                try await store.removalFigures(filter, groupBy: grouping).map { ($0.key, $0) },
                uniquingKeysWith: { first, _ in first })
            return counts.keys.sorted().map { key in
                let group = figures[key]
                let partner = grouping == .partner ? partners[key] : nil
                return TrustedFlaggerReport.Row(
                    key: key, name: partner?.name ?? group?.label ?? key,
                    country: grouping == .jurisdiction ? key : partner?.jurisdiction, counts: counts[key] ?? [:],
                    figures: group?.figures)
            }
        }
        let total =
            try await rows(nil).first
            ?? TrustedFlaggerReport.Row(key: "all", name: "All notices", country: nil, counts: [:], figures: nil)
        return TrustedFlaggerReport(
            issuer: configuration.issuer, from: from, to: to, generatedAt: clock(), total: total,
            byProvider: try await rows(.partner), byCountry: try await rows(.jurisdiction))
    }
}
