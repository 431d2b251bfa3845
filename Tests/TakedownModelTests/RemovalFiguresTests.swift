import Foundation
import TakedownModel
import Testing

@Suite("Removal figures")
struct RemovalFiguresTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func row(ack: Double? = nil, removed: Double? = nil, status: NoticeStatus = .removed) -> RemovalRow {
        RemovalRow(
            noticeId: .generate(), partnerId: PartnerID(rawValue: "ptn_a"), partnerName: "A", jurisdiction: "GB",
            status: status, issuedAt: t0, deadlineAt: t0.addingTimeInterval(86_400),
            acknowledgedAt: ack.map { t0.addingTimeInterval($0) }, removedAt: removed.map { t0.addingTimeInterval($0) })
    }

    @Test("median, nearest-rank p90 and shares, exactly")
    func known() {
        let hour = 3600.0
        let rows = [
            Self.row(ack: 60, removed: 2 * hour),
            Self.row(ack: 120, removed: 10 * hour),
            Self.row(ack: 180, removed: 30 * hour),
            Self.row(ack: 240, removed: 100 * hour),
            Self.row(ack: 300, removed: nil, status: .acknowledged),
            Self.row(status: .issued),
            Self.row(ack: 1, removed: 1, status: .withdrawn),  // left out
        ]
        let figures = RemovalFigures(rows)
        #expect(figures.notices == 6)
        #expect(figures.acknowledged == 5)
        #expect(figures.removed == 4)
        #expect(figures.timeToAcknowledge.medianSeconds == 180)
        #expect(figures.timeToAcknowledge.p90Seconds == 300)  // rank ⌈4.5⌉ = 5 of 5
        #expect(figures.timeToRemoval.medianSeconds == 20 * hour)  // (10 h + 30 h) / 2
        #expect(figures.timeToRemoval.p90Seconds == 100 * hour)  // rank ⌈3.6⌉ = 4 of 4
        #expect(figures.removedShare.within24h == 2.0 / 6)
        #expect(figures.removedShare.within72h == 3.0 / 6)
        #expect(figures.removedShare.within7d == 4.0 / 6)
    }

    @Test("verified removal: count, median, p90 and shares, exactly")
    func verified() {
        let hour = 3600.0
        func row(removed: Double?, verified: Double?, status: NoticeStatus) -> RemovalRow {
            var row = Self.row(ack: removed, removed: removed, status: status)
            row.verifiedAt = verified.map { Self.t0.addingTimeInterval($0) }
            return row
        }
        let rows = [
            row(removed: 1 * hour, verified: 2 * hour, status: .verified),
            row(removed: 20 * hour, verified: 30 * hour, status: .verified),
            row(removed: 50 * hour, verified: 200 * hour, status: .verified),
            row(removed: 60 * hour, verified: nil, status: .removed),
            row(removed: nil, verified: nil, status: .acknowledged),
        ]
        let figures = RemovalFigures(rows)
        #expect(figures.removed == 4)
        #expect(figures.verified == 3)
        #expect(figures.timeToVerifiedRemoval.medianSeconds == 30 * hour)
        #expect(figures.timeToVerifiedRemoval.p90Seconds == 200 * hour)  // rank ⌈2.7⌉ = 3 of 3
        #expect(figures.verifiedShare.within24h == 1.0 / 5)
        #expect(figures.verifiedShare.within72h == 2.0 / 5)
        #expect(figures.verifiedShare.within7d == 2.0 / 5)
        #expect(figures.removedShare.within72h == 4.0 / 5)
    }

    @Test("ten values: p90 is the ninth")
    func p90() {
        let figures = RemovalFigures((1...10).map { Self.row(removed: Double($0)) })
        #expect(figures.timeToRemoval.p90Seconds == 9)
        #expect(figures.timeToRemoval.medianSeconds == 5.5)
    }

    @Test("no notices: counts are zero and figures absent")
    func empty() {
        let figures = RemovalFigures([])
        #expect(figures.notices == 0)
        #expect(figures.timeToRemoval.medianSeconds == nil)
        #expect(figures.removedShare.within24h == nil)
    }

    @Test("months group by the UTC month of issue")
    func months() {
        #expect(RemovalGrouping.month.key(of: Self.row()).key == "2027-01")
    }
}
