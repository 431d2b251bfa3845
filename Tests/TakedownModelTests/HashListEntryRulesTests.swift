import Foundation
import TakedownModel
import Testing

/// How list entries move on staff edits and on their notices' standing: the rules both stores' logs apply.
@Suite struct HashListEntryRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let list = HashList(
        id: HashListID(rawValue: "hl_rules"), name: "A and B", audience: .hostingProvider, hashTypes: [.sha256],
        include: HashListInclusion(ukGrades: [.a, .b]), partners: [], createdAt: Date(timeIntervalSince1970: 0),
        updatedAt: Date(timeIntervalSince1970: 0))

    func entry(grade: UKGrade = .a, deleted reason: DeletionReason? = nil) -> HashListEntry {
        HashListEntry(
            id: HashEntryID.generate(), listId: list.id, number: 1, mediaType: .image,
            hashes: Hashes(sha256: String(repeating: "ab", count: 32)), classification: Category(ukGrade: grade),
            caseId: nil, createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0),
            deletedAt: reason.map { _ in Date(timeIntervalSince1970: 10) }, deletionReason: reason, seq: 3,
            url: "https://a.example.com/x")
    }

    @Test func reclassifyingKeepsAnEntryInScopeAndSendsOneOutOfScopeOff() throws {
        let kept = try #require(entry().reclassified(to: Category(ukGrade: .b), in: list, at: now))
        #expect(kept.isLive)
        #expect(kept.classification.ukGrade == .b)
        #expect(kept.updatedAt == now)
        #expect(entry().liveCountChange(to: kept) == 0)

        let off = try #require(entry().reclassified(to: Category(ukGrade: .c), in: list, at: now))
        #expect(off.deletedAt == now)
        #expect(off.deletionReason == .outOfScope)
        #expect(entry().liveCountChange(to: off) == -1)

        // The same category, or an entry already off the list: nothing to log.
        #expect(entry().reclassified(to: Category(ukGrade: .a), in: list, at: now) == nil)
        #expect(entry(deleted: .legal).reclassified(to: Category(ukGrade: .b), in: list, at: now) == nil)
    }

    @Test func deletingTakesOnlyALiveEntryOff() throws {
        let off = try #require(entry().deleted(reason: .falsePositive, at: now))
        #expect(off.deletedAt == now)
        #expect(off.deletionReason == .falsePositive)
        #expect(off.updatedAt == now)
        #expect(entry(deleted: .duplicate).deleted(reason: .legal, at: now) == nil)
    }

    @Test func aURLLeavesWithItsNoticeAndComesBackOnlyFromGone() throws {
        let gone = try #require(entry().standing(leaving: .gone, at: now))
        #expect(gone.deletionReason == .gone)
        #expect(entry().liveCountChange(to: gone) == -1)
        // Already off: leaving again logs nothing.
        #expect(gone.standing(leaving: .withdrawn, at: now) == nil)

        let back = try #require(gone.standing(leaving: nil, at: now + 60))
        #expect(back.isLive)
        #expect(back.deletionReason == nil)
        #expect(gone.liveCountChange(to: back) == 1)
        // Withdrawn or removed by staff: served again does not bring it back; live: nothing moves.
        #expect(entry(deleted: .withdrawn).standing(leaving: nil, at: now) == nil)
        #expect(entry(deleted: .falsePositive).standing(leaving: nil, at: now) == nil)
        #expect(entry().standing(leaving: nil, at: now) == nil)
    }

    @Test func onlyStaffRemovalsKeepANewNoticeOut() {
        #expect(entry().returnsWithANewNotice)
        #expect(entry(deleted: .gone).returnsWithANewNotice)
        #expect(entry(deleted: .withdrawn).returnsWithANewNotice)
        #expect(!entry(deleted: .falsePositive).returnsWithANewNotice)
        #expect(!entry(deleted: .legal).returnsWithANewNotice)
    }
}
