import Foundation
import TakedownModel
import TakedownStore
import Testing

/// URL lists in the storage contract: a notice's URLs join as it is issued (in its case's transaction, by
/// hand route or at a hold's release), stored notices fill a new list, and a URL leaves with its reason
/// when verification finds it gone or the notice is withdrawn, coming back if it is served again.
public enum URLListConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "url lists: issued notices' URLs join by grade; a new list takes in the stored ones": intake,
        "url lists: a URL leaves when found gone or withdrawn, and comes back if served again": leaving,
        "url lists: a hand route and a hold's release join; staff removals stay removed": laterNotices,
    ]

    static let t0 = Synthetic.epoch

    static func list(_ name: String = "Block list", grades: [UKGrade] = [.a, .b]) -> HashList {
        HashList(
            id: .generate(), name: name, kind: .urls, audience: .hostingProvider, hashTypes: [],
            include: HashListInclusion(ukGrades: grades), partners: [], createdAt: t0, updatedAt: t0)
    }

    /// A case of `grade` with one notice for `urls`, issued at `at`.
    @discardableResult
    static func issued(
        _ store: any GatewayStore, _ urls: [String], grade: UKGrade = .a, partner: PartnerID, at: Date = t0
    ) async throws -> Notice {
        var record = Synthetic.caseRecord(urls: urls, at: at)
        record.category = Category(ukGrade: grade)
        var notice = Synthetic.notice(for: record, partner: partner, at: at)
        for index in record.items.indices { record.items[index].noticeId = notice.id }
        _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
        notice = try #require(try await store.notice(notice.id))
        return notice
    }

    /// The list's URLs as its feed leaves them: `live`, or the reason the URL left with.
    static func standing(_ store: any GatewayStore, _ list: HashListID) async throws -> [String: String] {
        var latest: [String: HashListChange] = [:]
        for record in try await store.hashListRecords(list, after: 0, liveAt: nil, limit: 10_000) {
            let url = try #require(record.change.url)
            #expect(record.change.hashes == Hashes())
            let line = String(decoding: record.line, as: UTF8.self)
            #expect(line.contains("\"url\":\"\(url)\""), "the feed line carries the URL: \(line)")
            latest[url] = record.change
        }
        return latest.mapValues { $0.op == .upsert ? "live" : $0.reason?.rawValue ?? "no reason" }
    }

    static func intake(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store)
        let before = try await issued(
            store, ["https://a.example.com/1.jpg", "https://a.example.com/2.jpg"], partner: partner.id)
        try await issued(store, ["https://c.example.com/graded-c.jpg"], grade: .c, partner: partner.id)
        _ = try await store.updateNotices([before.id], outbox: { _ in [] }) { notice in
            notice.status = .withdrawn
            return true
        }
        try await issued(store, ["https://a.example.com/3.jpg"], partner: partner.id)

        // A new list takes in stored notices still open, of its grades.
        let urls = list()
        try await store.insertHashList(urls)
        #expect(try await standing(store, urls.id) == ["https://a.example.com/3.jpg": "live"])
        #expect(try await store.hashList(urls.id)?.kind == .urls)
        #expect(try await store.hashList(urls.id)?.entryCount == 1)

        // A notice issued now joins in its case's transaction; a grade the list does not take stays off.
        try await issued(store, ["https://b.example.com/4.jpg"], grade: .b, partner: partner.id)
        try await issued(store, ["https://c.example.com/5.jpg"], grade: .c, partner: partner.id)
        let after = try await standing(store, urls.id)
        #expect(Set(after.keys) == ["https://a.example.com/3.jpg", "https://b.example.com/4.jpg"])
        #expect(after.values.allSatisfy { $0 == "live" })

        // A hash list takes none of it, and a URL list no file.
        let files = HashListConformance.list("Files")
        try await store.insertHashList(files)
        let fileRecords = try await store.hashListRecords(files.id, after: 0, liveAt: nil, limit: 100)
        #expect(fileRecords.allSatisfy { $0.change.url == nil })
        #expect(try await store.hashList(files.id)?.kind == .hashes)
    }

    static func leaving(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store, domains: ["x.test"])
        let urls = list()
        try await store.insertHashList(urls)
        let first = try await issued(store, ["https://x.test/1", "https://x.test/2"], partner: partner.id)
        let second = try await issued(store, ["https://x.test/3"], partner: partner.id)
        #expect(try await standing(store, urls.id).count == 3)

        // An answer moves nothing.
        _ = try await store.updateNotices([first.id], outbox: { _ in [] }) { notice in
            notice.status = .acknowledged
            notice.acknowledgedAt = t0.addingTimeInterval(60)
            return true
        }
        #expect(try await standing(store, urls.id).values.allSatisfy { $0 == "live" })

        // Verification finds one URL gone: it leaves, with the reason and the time it was found gone.
        _ = try await store.updateNotices([first.id], outbox: { _ in [] }) { notice in
            notice.verifyDueAt = t0
            return true
        }
        let claim = try #require(try await store.claimVerifications(now: t0, lease: 60, limit: 1).first)
        let checks = [
            VerificationCheck(
                noticeId: first.id, url: "https://x.test/1", checkedAt: t0, httpStatus: 404, outcome: .gone,
                error: nil),
            VerificationCheck(
                noticeId: first.id, url: "https://x.test/2", checkedAt: t0, httpStatus: 200, outcome: .stillServed,
                error: nil),
        ]
        let gone = t0.addingTimeInterval(7_200)
        _ = try await store.completeVerification(claim, checks: checks) {
            $0.applyVerification(checks, at: gone, next: gone.addingTimeInterval(3_600))
        }
        var now = try await standing(store, urls.id)
        #expect(now["https://x.test/1"] == "gone")
        #expect(now["https://x.test/2"] == "live")
        let tombstone = try #require(
            try await store.hashListRecords(urls.id, after: 0, liveAt: nil, limit: 100).last?.change)
        #expect(tombstone.url == "https://x.test/1" && tombstone.op == .delete && tombstone.updatedAt == gone)
        #expect(try await store.hashList(urls.id)?.entryCount == 2)

        // Served again at the next check: it comes back.
        _ = try await store.updateNotices([first.id], outbox: { _ in [] }) { notice in
            notice.verifyDueAt = gone
            return true
        }
        let again = try #require(try await store.claimVerifications(now: gone, lease: 60, limit: 1).first)
        let served = [
            VerificationCheck(
                noticeId: first.id, url: "https://x.test/1", checkedAt: gone, httpStatus: 200, outcome: .stillServed,
                error: nil)
        ]
        _ = try await store.completeVerification(again, checks: served) {
            $0.applyVerification(served, at: gone, next: gone.addingTimeInterval(3_600))
        }
        now = try await standing(store, urls.id)
        #expect(now["https://x.test/1"] == "live")
        #expect(try await store.hashList(urls.id)?.entryCount == 3)

        // A withdrawn notice's URLs leave as withdrawn.
        _ = try await store.updateNotices([second.id], outbox: { _ in [] }) { notice in
            notice.status = .withdrawn
            return true
        }
        now = try await standing(store, urls.id)
        #expect(now["https://x.test/3"] == "withdrawn")
        #expect(try await store.hashList(urls.id)?.entryCount == 2)
    }

    static func laterNotices(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store)
        let urls = list()
        try await store.insertHashList(urls)

        // A case stored without notices: its URL joins when staff route it by hand.
        let record = Synthetic.caseRecord(urls: ["https://example.com/routed.jpg"])
        _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil)
        #expect(try await standing(store, urls.id).isEmpty)
        let routed = Synthetic.notice(for: record, partner: partner.id)
        _ = try await store.routeItems(
            of: record.id, urls: ["https://example.com/routed.jpg"], notice: routed, deliveries: [])
        #expect(try await standing(store, urls.id) == ["https://example.com/routed.jpg": "live"])

        // A held case joins at release, not before.
        let (held, hold, provider, _) = try await PoliceHoldConformance.held(store)
        let heldURL = held.items[0].url
        #expect(try await standing(store, urls.id)[heldURL] == nil)
        var released = hold
        released.status = .released
        released.releasedAt = t0.addingTimeInterval(600)
        let notice = Synthetic.notice(for: held, partner: provider.id, at: t0.addingTimeInterval(600))
        released.noticeIds = [notice.id]
        try await store.releaseHold(released, notices: [notice], deliveries: [])
        #expect(try await standing(store, urls.id)[heldURL] == "live")

        // Staff take a URL off as a false positive: a new notice for it does not bring it back.
        let entry = try #require(
            try await store.hashListRecords(urls.id, after: 0, liveAt: nil, limit: 100).first {
                $0.change.url == "https://example.com/routed.jpg"
            })
        _ = try await store.editHashList(urls.id, [.delete(entry.change.entryId, .falsePositive)], at: t0)
        try await issued(store, ["https://example.com/routed.jpg"], partner: partner.id)
        #expect(try await standing(store, urls.id)["https://example.com/routed.jpg"] == "false_positive")

        // Staff may also put a URL on by hand.
        let added = try await store.editHashList(
            urls.id,
            [
                .add(
                    .url(
                        "https://example.com/by-hand.jpg", mediaType: .image, classification: Category(ukGrade: .a),
                        caseId: nil))
            ], at: t0)
        #expect(added.first?.url == "https://example.com/by-hand.jpg")
        #expect(try await standing(store, urls.id)["https://example.com/by-hand.jpg"] == "live")
    }
}
