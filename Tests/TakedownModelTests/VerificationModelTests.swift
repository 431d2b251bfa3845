import Foundation
import TakedownModel
import Testing

@Suite("Verification: judging a fetch and changing the notice")
struct VerificationModelTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let hashes = Hashes(md5: String(repeating: "a", count: 32), sha256: String(repeating: "b", count: 64))

    static func fetch(_ status: Int?, digests: Hashes? = nil, failure: URLFetch.Failure? = nil) -> URLFetch {
        URLFetch(status: status, digests: digests, failure: failure, redirects: 0, finalURL: "https://a.test/1")
    }

    @Test("what each answer means")
    func judging() {
        let same = Hashes(md5: String(repeating: "a", count: 32), sha1: "x", sha256: String(repeating: "b", count: 64))
        let other = Hashes(md5: "1", sha1: "2", sha256: "3")
        #expect(Self.fetch(200, digests: same).judged(against: Self.hashes).outcome == .stillServed)
        #expect(Self.fetch(200, digests: other).judged(against: Self.hashes).outcome == .contentChanged)
        #expect(Self.fetch(404).judged(against: Self.hashes).outcome == .gone)
        #expect(Self.fetch(410).judged(against: Self.hashes).outcome == .gone)
        #expect(Self.fetch(451).judged(against: Self.hashes).outcome == .gone)
        #expect(Self.fetch(nil, failure: .nameNotFound).judged(against: Self.hashes).outcome == .gone)
        #expect(Self.fetch(403).judged(against: Self.hashes) == (.inconclusive, "HTTP 403"))
        #expect(Self.fetch(503).judged(against: Self.hashes).outcome == .inconclusive)
        #expect(Self.fetch(nil, failure: .timedOut).judged(against: Self.hashes) == (.inconclusive, "timed out"))
        #expect(Self.fetch(200, failure: .tooLarge(limit: 10)).judged(against: Self.hashes).outcome == .inconclusive)
        #expect(Self.fetch(nil, failure: .refused("x")).judged(against: Self.hashes).outcome == .inconclusive)
        // Upper-case hex in the case still matches.
        let upper = Hashes(sha256: String(repeating: "B", count: 64))
        #expect(Self.fetch(200, digests: same).judged(against: upper).outcome == .stillServed)
        // Only perceptual hashes: nothing shows the bytes differ, so a 2xx answer is still served.
        let perceptual = Hashes(pdq: String(repeating: "c", count: 64))
        #expect(Self.fetch(200, digests: other).judged(against: perceptual).outcome == .stillServed)
        #expect(Self.fetch(404).judged(against: perceptual).outcome == .gone)
    }

    static func notice(status: NoticeStatus, removed: Bool) -> Notice {
        var notice = Notice(
            id: .generate(), caseId: .generate(), partnerId: .generate(), status: status, issuedAt: t0,
            deadlineAt: t0.addingTimeInterval(86_400),
            items: ["https://a.test/1", "https://a.test/2"].map {
                NoticeItem(url: $0, removedAt: removed ? t0 : nil, action: removed ? .removed : nil)
            }, document: Data(), jws: "", timeline: [])
        if removed { notice.removedAt = t0 }
        return notice
    }

    static func check(_ notice: Notice, _ url: String, _ outcome: VerificationOutcome) -> VerificationCheck {
        VerificationCheck(
            noticeId: notice.id, url: url, checkedAt: t0, httpStatus: 404, outcome: outcome, error: nil)
    }

    @Test("a removed notice becomes verified once every item is checked gone")
    func verified() {
        var notice = Self.notice(status: .removed, removed: true)
        let later = Self.t0.addingTimeInterval(3600)
        notice.applyVerification([Self.check(notice, "https://a.test/1", .gone)], at: later, next: later + 60)
        #expect(notice.status == .removed)
        #expect(notice.verifyDueAt == later + 60)  // one item left: checked again later
        notice.applyVerification(
            [Self.check(notice, "https://a.test/2", .contentChanged)], at: later + 60, next: later + 120)
        #expect(notice.status == .verified)
        #expect(notice.verifiedAt == later + 60)
        #expect(notice.verifyDueAt == nil)
        #expect(notice.items.map(\.verifiedAt) == [later, later + 60])
        #expect(notice.timeline.map(\.event) == ["verified"])
        #expect(notice.timeToVerifiedRemoval == 3660)
    }

    @Test("an item still served re-opens a removed notice")
    func reopened() {
        var notice = Self.notice(status: .removed, removed: true)
        notice.acknowledgedAt = Self.t0
        notice.applyVerification(
            [Self.check(notice, "https://a.test/1", .gone), Self.check(notice, "https://a.test/2", .stillServed)],
            at: Self.t0, next: Self.t0 + 60)
        #expect(notice.status == .acknowledged)
        #expect(notice.removedAt == nil)
        #expect(notice.items[1].removedAt == nil)
        #expect(notice.items[1].action == nil)
        #expect(notice.items[0].removedAt == Self.t0)  // the item checked gone keeps its report
        #expect(notice.timeline.last?.event == "removal_not_verified")
        #expect(notice.verifyDueAt == Self.t0 + 60)
        #expect(EscalationLadder.climbing.contains(notice.status))
    }

    @Test("open notices record what was seen; inconclusive checks change nothing but the schedule")
    func open() {
        var notice = Self.notice(status: .delivered, removed: false)
        notice.applyVerification(
            [Self.check(notice, "https://a.test/1", .inconclusive)], at: Self.t0, next: Self.t0 + 9)
        #expect(notice.items.allSatisfy { $0.verifiedAt == nil })
        #expect(notice.timeline.isEmpty)
        #expect(notice.verifyDueAt == Self.t0 + 9)
        notice.applyVerification(
            [Self.check(notice, "https://a.test/1", .gone), Self.check(notice, "https://a.test/2", .gone)],
            at: Self.t0, next: Self.t0 + 9)
        #expect(notice.status == .delivered)
        #expect(notice.timeline.map(\.event) == ["removal_observed"])
        // A withdrawn notice is not checked any more.
        var withdrawn = Self.notice(status: .withdrawn, removed: false)
        withdrawn.verifyDueAt = Self.t0
        withdrawn.applyVerification([], at: Self.t0, next: Self.t0 + 9)
        #expect(withdrawn.verifyDueAt == nil)
    }

    @Test("a removal reported while a check ran is not contradicted by that check")
    func reportDuringCheck() {
        var notice = Self.notice(status: .removed, removed: true)
        let claimedUntil = Self.t0.addingTimeInterval(600)
        notice.verifyDueAt = Self.t0.addingTimeInterval(5)  // the report rescheduled the check meanwhile
        let checks = [
            Self.check(notice, "https://a.test/1", .stillServed), Self.check(notice, "https://a.test/2", .gone),
        ]
        notice.applyVerification(checks, at: Self.t0 + 9, next: Self.t0 + 3600, claimedUntil: claimedUntil)
        #expect(notice.status == .removed)
        #expect(notice.items[0].removedAt == Self.t0)
        #expect(notice.items[1].verifiedAt == Self.t0 + 9)
        #expect(notice.verifyDueAt == Self.t0.addingTimeInterval(5))  // the report's check stays due
        #expect(notice.timeline.isEmpty)
        // The same answers under an unchanged claim re-open the notice.
        notice.verifyDueAt = claimedUntil
        notice.applyVerification(checks, at: Self.t0 + 9, next: Self.t0 + 3600, claimedUntil: claimedUntil)
        #expect(notice.status == .acknowledged)
        #expect(notice.timeline.map(\.event) == ["removal_not_verified"])
    }

    @Test("a removal report schedules a check at once")
    func removalSchedules() throws {
        var notice = Self.notice(status: .acknowledged, removed: false)
        _ = try notice.apply(
            .removal(action: .removed, removedAt: nil, urls: ["https://a.test/1"]), at: Self.t0 + 5, actor: "p")
        #expect(notice.verifyDueAt == Self.t0 + 5)
    }
}
