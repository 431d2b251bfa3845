import Foundation
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

extension Gateway {
    /// The gateway's current time (its injected clock).
    public func now() -> Date { clock() }

    public func removalRows(from: Date?, to: Date?, partner: PartnerID?) async throws -> [RemovalRow] {
        if let from, let to, from >= to {
            throw GatewayError.badParameter(name: "to", reason: "must be after from")
        }
        return try await store.removalRows(issuedFrom: from, issuedTo: to, partner: partner)
    }

    /// Figures of the notices issued in [from, to), in one group or grouped by partner, jurisdiction or month.
    public func removalReport(from: Date?, to: Date?, groupBy: RemovalGrouping?) async throws -> RemovalReport {
        let rows = try await removalRows(from: from, to: to, partner: nil)
        return RemovalReport(from: from, to: to, groupBy: groupBy, groups: Self.groups(rows, by: groupBy))
    }

    public func scorecard(_ id: PartnerID) async throws -> Scorecard {
        let partner = try await partner(id)
        let rows = try await store.removalRows(issuedFrom: nil, issuedTo: nil, partner: id)
        return Scorecard(
            partnerId: id, name: partner.name, overall: RemovalFigures(rows), byMonth: Self.groups(rows, by: .month))
    }

    static func groups(_ rows: [RemovalRow], by grouping: RemovalGrouping?) -> [RemovalReport.Group] {
        guard let grouping else {
            return [RemovalReport.Group(key: "all", label: "All notices", figures: RemovalFigures(rows))]
        }
        var order: [String] = []
        var members: [String: (label: String, rows: [RemovalRow])] = [:]
        for row in rows {
            let (key, label) = grouping.key(of: row)
            if members[key] == nil {
                order.append(key)
                members[key] = (label, [])
            }
            members[key]?.rows.append(row)
        }
        return order.sorted().map { key in
            RemovalReport.Group(key: key, label: members[key]!.label, figures: RemovalFigures(members[key]!.rows))
        }
    }
}
