import Foundation
import TakedownModel
import TakedownStore
import Testing

/// Removal figures computed by the database equal the figures of the same rows computed in memory.
public enum FiguresConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "removal figures and status counts from the database equal those of the rows, for every grouping": figures
    ]

    static func figures(_ store: any GatewayStore) async throws {
        let british = Synthetic.partner("British Hosting", domains: ["figures-gb-\(Synthetic.hex(4)).test"])
        var german = Synthetic.partner("German Hosting", domains: ["figures-de-\(Synthetic.hex(4)).test"])
        german.jurisdiction = "DE"
        for partner in [british, german] {
            try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        }
        // Whole seconds, so the database's subtraction and Foundation's agree to the last bit.
        var generator = SeededGenerator(seed: 7)
        for index in 0..<60 {
            let partner = index % 3 == 0 ? german : british
            let issued = Synthetic.epoch.addingTimeInterval(Double(index / 20) * 31 * 86_400 + Double(index) * 60)
            let record = Synthetic.caseRecord(urls: ["https://figures.test/\(index)"], at: issued)
            var notice = Synthetic.notice(for: record, partner: partner.id, at: issued)
            func later(_ most: UInt64) -> Date {
                issued.addingTimeInterval(Double(UInt64.random(in: 1...most, using: &generator)))
            }
            switch index % 7 {
            case 0:
                notice.status = .withdrawn
                notice.acknowledgedAt = later(3_600)
            case 1: notice.status = .delivered
            case 2, 3:
                notice.status = .acknowledged
                notice.acknowledgedAt = later(20_000)
            default:
                notice.status = index % 2 == 0 ? .verified : .removed
                notice.acknowledgedAt = later(20_000)
                notice.removedAt = later(900_000)
                if index % 2 == 0 { notice.verifiedAt = later(900_000).addingTimeInterval(3_600) }
            }
            _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
        }
        let rows = try await store.removalRows(issuedFrom: nil, issuedTo: nil, partner: nil)
        #expect(rows.count == 60)
        // Each filter of the rows, alone and together, picks what filtering every row would.
        let partners = Set(rows.map(\.partnerId)).sorted { $0.rawValue < $1.rawValue }
        let issued = rows.map(\.issuedAt).sorted()
        let (start, end) = (issued[10], issued[45])
        for partner in [nil] + partners.map(Optional.some) {
            for (lower, upper) in [(nil, nil), (start, nil), (nil, end), (start, end)] as [(Date?, Date?)] {
                let chosen = try await store.removalRows(issuedFrom: lower, issuedTo: upper, partner: partner)
                let expected = rows.filter { row in
                    (partner.map { row.partnerId == $0 } ?? true) && (lower.map { row.issuedAt >= $0 } ?? true)
                        && (upper.map { row.issuedAt < $0 } ?? true)
                }
                #expect(chosen.map(\.noticeId) == expected.map(\.noticeId), "\(String(describing: partner))")
            }
        }
        for grouping in [nil] + RemovalGrouping.allCases.map(Optional.some) {
            let computed = try await store.removalFigures(.init(), groupBy: grouping)
            let expected = expectedGroups(rows, grouping)
            #expect(computed.map(\.key) == expected.map(\.key), "\(String(describing: grouping))")
            #expect(computed.map(\.label) == expected.map(\.label), "\(String(describing: grouping))")
            for (got, want) in zip(computed, expected) {
                #expect(got.figures == want.figures, "\(String(describing: grouping)) \(got.key)")
            }
        }
        // The status counts of each group (withdrawn ones included) equal those of the rows.
        for grouping in [nil] + RemovalGrouping.allCases.map(Optional.some) {
            let counted = try await store.noticeStatusCounts(.init(), groupBy: grouping)
            var expected: [String: [NoticeStatus: Int]] = [:]
            for row in rows {
                let key: String
                switch grouping {
                case nil: key = "all"
                case .partner: key = row.partnerId.rawValue
                case .jurisdiction: key = row.jurisdiction
                case .month: key = String(Timestamp.format(row.issuedAt).prefix(7))
                }
                expected[key, default: [:]][row.status, default: 0] += 1
            }
            #expect(counted == expected, "\(String(describing: grouping))")
        }
        let narrowed = try await store.noticeStatusCounts(.init(partner: german.id), groupBy: nil)
        #expect(narrowed["all"]?.values.reduce(0, +) == 20)

        // A window and a partner narrow it the same way.
        let from = Synthetic.epoch.addingTimeInterval(31 * 86_400)
        let to = Synthetic.epoch.addingTimeInterval(62 * 86_400)
        let window = try await store.removalFigures(
            .init(issuedFrom: from, issuedTo: to, partner: british.id), groupBy: nil)
        let inWindow = rows.filter { $0.issuedAt >= from && $0.issuedAt < to && $0.partnerId == british.id }
        #expect(window.first?.figures == RemovalFigures(inWindow))
        #expect(try await store.removalFigures(.init(partner: .generate()), groupBy: nil).isEmpty)
    }

    static func expectedGroups(_ rows: [RemovalRow], _ grouping: RemovalGrouping?) -> [RemovalGroupFigures] {
        guard let grouping else {
            return [RemovalGroupFigures(key: "all", label: "All notices", figures: RemovalFigures(rows))]
        }
        let grouped = Dictionary(grouping: rows) { grouping.key(of: $0).key }
        return grouped.keys.sorted().map { key in
            let members = grouped[key] ?? []
            return RemovalGroupFigures(
                key: key, label: members.first.map { grouping.key(of: $0).label } ?? key,
                figures: RemovalFigures(members))
        }
    }
}

/// A small deterministic random source (SplitMix64), so a failing check can be run again as it was.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
