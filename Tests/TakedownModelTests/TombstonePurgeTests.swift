import Foundation
import Testing

@testable import TakedownModel

@Suite("Compaction of a list's log")
struct TombstonePurgeTests {
    let cut = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a tombstone goes only when older than the cut and carried by a published version")
    func purges() {
        let rule = TombstonePurge(deletedBefore: cut, publishedThrough: 40)
        #expect(rule.purges(deletedAt: cut.addingTimeInterval(-1), seq: 40))
        #expect(rule.purges(deletedAt: cut.addingTimeInterval(-86_400), seq: 1))
        // Not old enough: a client may still be between versions around it.
        #expect(!rule.purges(deletedAt: cut, seq: 10))
        #expect(!rule.purges(deletedAt: cut.addingTimeInterval(1), seq: 10))
        // Not yet in a published version: no client could have learnt of the deletion.
        #expect(!rule.purges(deletedAt: cut.addingTimeInterval(-1), seq: 41))
    }

    @Test("nothing goes from a list never published")
    func unpublished() {
        let rule = TombstonePurge(deletedBefore: cut, publishedThrough: nil)
        #expect(!rule.purges(deletedAt: .distantPast, seq: 1))
    }

    @Test("purgedThrough only moves forward")
    func through() {
        #expect(TombstonePurge.purgedThrough(12, after: []) == 12)
        #expect(TombstonePurge.purgedThrough(12, after: [3, 30, 7]) == 30)
        #expect(TombstonePurge.purgedThrough(50, after: [3, 30]) == 50)
    }
}
