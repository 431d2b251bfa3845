import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The storage contract as tests: every store runs every check, each on a fresh, migrated store.
public enum StoreConformance {
    public typealias Check = @Sendable (any GatewayStore) async throws -> Void

    public static let checks: [String: Check] = [
        "tokens are found by hash and revoked once": tokensRoundTrip,
        "a partner and its first token are written together": partnerWithToken,
        "partners are listed in creation order and updated": partnersUpdate,
        "a case, its notices and timelines round-trip": caseRoundTrip,
        "a failing case write leaves nothing behind": caseAtomicity,
        "case writes at once: each stored or refused alone, in one position order": concurrentCases,
        "case writes at once with nothing at fault: all stored, earlier keys replayed": concurrentReplays,
        "an idempotency key returns the first answer and writes nothing": idempotency,
        "cases filter and page by position": casePaging,
        "unrouted items are routed once": routeItems,
        "notices page in issue order, per partner, in full or lean": noticePaging,
        "notice updates append events and roll back on error": noticeUpdates,
        "migrations can run twice": migrateTwice,
    ]

    public static var names: [String] { all.keys.sorted() }

    /// Every check: the outbox's, the clocks' and the hash lists' included.
    public static var all: [String: Check] {
        checks.merging(OutboxConformance.checks) { $1 }.merging(ClockConformance.checks) { $1 }
            .merging(HashListConformance.checks) { $1 }.merging(AccessConformance.checks) { $1 }
            .merging(AuditConformance.checks) { $1 }
            .merging(FiguresConformance.checks) { $1 }
            .merging(SourceConformance.checks) { $1 }
            .merging(ASNConformance.checks) { $1 }
            .merging(ReferralConformance.checks) { $1 }
            .merging(ConsoleSessionConformance.checks) { $1 }
            .merging(PoliceHoldConformance.checks) { $1 }
            .merging(URLListConformance.checks) { $1 }
            .merging(SigningKeyConformance.checks) { $1 }
            .merging(TransparencyLogConformance.checks) { $1 }
    }

    static func tokensRoundTrip(_ store: any GatewayStore) async throws {
        #expect(try await store.hasAdmin(at: Synthetic.epoch) == false)
        let admin = Synthetic.token(role: .admin)
        try await store.insertToken(admin)
        #expect(try await store.hasAdmin(at: Synthetic.epoch))
        #expect(try await store.token(secretHash: admin.secretHash) == admin)
        #expect(try await store.token(secretHash: Synthetic.hex(64)) == nil)
        #expect(try await store.revokeToken(admin.id, at: Synthetic.epoch))
        #expect(try await store.revokeToken(admin.id, at: Synthetic.epoch) == false)
        #expect(try await store.token(secretHash: admin.secretHash)?.revokedAt == Synthetic.epoch)
        #expect(try await store.token(secretHash: admin.secretHash)?.principal(at: Synthetic.epoch) == nil)
        #expect(try await store.hasAdmin(at: Synthetic.epoch) == false)
        await #expect(throws: StoreError.self) { try await store.insertToken(admin) }
    }

    static func partnerWithToken(_ store: any GatewayStore) async throws {
        let partner = Synthetic.partner()
        let token = Synthetic.token(partner: partner.id)
        try await store.insertPartner(partner, token: token, webhookSecret: nil)
        #expect(try await store.partner(partner.id) == partner)
        #expect(
            try await store.token(secretHash: token.secretHash)?.principal(at: Synthetic.epoch)
                == .partner(token.id, partner.id))

        // A second partner whose token clashes must not be stored half-way.
        let other = Synthetic.partner("Other", domains: ["other.test"])
        await #expect(throws: StoreError.self) {
            try await store.insertPartner(other, token: token, webhookSecret: nil)
        }
        #expect(try await store.partner(other.id) == nil)
    }

    static func partnersUpdate(_ store: any GatewayStore) async throws {
        let first = Synthetic.partner("First", domains: ["first.test"])
        let second = Synthetic.partner("Second", domains: ["second.test"], ranges: ["198.51.100.0/24"])
        try await store.insertPartner(first, token: Synthetic.token(partner: first.id), webhookSecret: nil)
        try await store.insertPartner(second, token: Synthetic.token(partner: second.id), webhookSecret: nil)
        #expect(try await store.partners().map(\.id) == [first.id, second.id])

        var changed = second
        changed.name = "Second, renamed"
        changed.delivery.webhookUrl = "https://hooks.second.test/notices"
        changed.updatedAt = Synthetic.epoch.addingTimeInterval(60)
        try await store.updatePartner(changed, webhookSecret: nil)
        #expect(try await store.partner(second.id) == changed)
        await #expect(throws: StoreError.notFound) {
            try await store.updatePartner(Synthetic.partner("Ghost"), webhookSecret: nil)
        }
    }

    static func caseRoundTrip(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        var record = Synthetic.caseRecord(urls: [
            "https://a.example.com/1", "https://b.example.com/2", "https://x.test/3",
        ])
        record.items[1].hashes = Hashes(pdq: Synthetic.hex(64), pdqQuality: 87, photodna: "AAEC")
        let notice = Synthetic.notice(
            for: record, partner: partner.id, urls: ["https://a.example.com/1", "https://b.example.com/2"])
        record.items[0].noticeId = notice.id
        record.items[1].noticeId = notice.id
        record.items[2].unroutedReason = "no_matching_domain"
        record.items[0].trace = HostingTrace(
            host: "a.example.com", resolution: .notNeeded, basis: .domain, tracedAt: Synthetic.epoch)
        record.items[2].trace = HostingTrace(
            host: "x.test", resolution: .resolved, addresses: ["203.0.113.9", "2001:db8::9"], address: "203.0.113.9",
            asn: 64501, asName: "EXAMPLE-FR", country: "FR", basis: .none, tracedAt: Synthetic.epoch)
        #expect(try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil) == nil)

        #expect(try await store.caseRecord(record.id) == record)
        let stored = try #require(try await store.notice(notice.id))
        #expect(stored.position > 0)
        var expected = notice
        expected.position = stored.position
        #expect(stored == expected)
        #expect(try await store.caseRecord(CaseID.generate()) == nil)
        #expect(try await store.notice(NoticeID.generate()) == nil)
    }

    static func caseAtomicity(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        let record = Synthetic.caseRecord(urls: ["https://a.example.com/1"])
        let notice = Synthetic.notice(for: record, partner: partner.id)
        var clash = Synthetic.notice(for: record, partner: partner.id)
        clash.id = notice.id
        await #expect(throws: StoreError.self) {
            _ = try await store.insertCase(record, notices: [notice, clash], deliveries: [], idempotency: nil)
        }
        #expect(try await store.caseRecord(record.id) == nil)
        #expect(try await store.notice(notice.id) == nil)
        #expect(try await store.cases(CaseQuery()).isEmpty)
    }

    /// Many cases written at once (a store may commit them together): the ones that clash (a notice id
    /// already taken, the same idempotency key twice) fail or replay alone and leave nothing; every other
    /// one is stored whole, and notice positions are unique.
    static func concurrentCases(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        let taken = Synthetic.caseRecord(urls: ["https://a.example.com/taken"])
        let takenNotice = Synthetic.notice(for: taken, partner: partner.id)
        _ = try await store.insertCase(taken, notices: [takenNotice], deliveries: [], idempotency: nil)

        enum Outcome: Sendable, Equatable {
            case stored, refused, replayed
        }
        let count = 120
        let outcomes = try await withThrowingTaskGroup(of: (Int, Case, NoticeID, Outcome).self) { group in
            for index in 0..<count {
                group.addTask {
                    let record = Synthetic.caseRecord(urls: ["https://a.example.com/\(index)"])
                    var notice = Synthetic.notice(for: record, partner: partner.id)
                    // Every tenth case reuses a notice id already stored: its write must fail alone.
                    if index % 10 == 3 { notice.id = takenNotice.id }
                    // Cases 50 and 51 carry one idempotency key: one is stored, the other replays it.
                    let key =
                        (50...51).contains(index)
                        ? IdempotencyRecord(
                            scope: "cases:tok_c", key: "same", requestHash: "h", status: 201,
                            body: Data("{\"case\":\(index)}".utf8), createdAt: Synthetic.epoch) : nil
                    do {
                        let earlier = try await store.insertCase(
                            record, notices: [notice], deliveries: [Synthetic.delivery(for: notice)], idempotency: key)
                        return (index, record, notice.id, earlier == nil ? .stored : .replayed)
                    } catch is StoreError {
                        return (index, record, notice.id, .refused)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == count)
        var positions: Set<Int64> = []
        for (index, record, noticeID, outcome) in outcomes {
            switch outcome {
            case .stored:
                #expect(index % 10 != 3, "case \(index) with a taken notice id was stored")
                #expect(try await store.caseRecord(record.id) == record)
                let notice = try #require(try await store.notice(noticeID))
                #expect(notice.caseId == record.id)
                positions.insert(notice.position)
            case .refused:
                #expect(index % 10 == 3, "case \(index) was refused")
                #expect(try await store.caseRecord(record.id) == nil)
            case .replayed:
                #expect((50...51).contains(index))
                #expect(try await store.caseRecord(record.id) == nil)
            }
        }
        #expect(outcomes.filter { $0.3 == .refused }.count == count / 10)
        #expect(outcomes.filter { $0.3 == .replayed }.count == 1)
        let stored = outcomes.filter { $0.3 == .stored }.count
        #expect(positions.count == stored)
        #expect(try await store.deliveries(DeliveryQuery(limit: 500)).count == stored)
    }

    /// Many cases at once and none at fault, so a store that commits them together keeps them together:
    /// every one is stored with a position of its own, and those whose idempotency key was stored before get
    /// the earlier record back and store nothing.
    static func concurrentReplays(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        func key(_ index: Int) -> IdempotencyRecord {
            IdempotencyRecord(
                scope: "cases:tok_r", key: "key-\(index)", requestHash: "h\(index)", status: 201,
                body: Data("{\"case\":\(index)}".utf8), createdAt: Synthetic.epoch)
        }
        // Keys 0..<10 are stored first; the concurrent writes reuse them with other cases.
        for index in 0..<10 {
            let record = Synthetic.caseRecord(urls: ["https://a.example.com/first/\(index)"])
            let notice = Synthetic.notice(for: record, partner: partner.id)
            #expect(
                try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: key(index)) == nil)
        }
        let count = 100
        let outcomes = try await withThrowingTaskGroup(of: (Int, Case, NoticeID, IdempotencyRecord?).self) { group in
            for index in 0..<count {
                group.addTask {
                    let record = Synthetic.caseRecord(urls: ["https://a.example.com/again/\(index)"])
                    let notice = Synthetic.notice(for: record, partner: partner.id)
                    let earlier = try await store.insertCase(
                        record, notices: [notice], deliveries: [Synthetic.delivery(for: notice)],
                        idempotency: index % 5 == 0 ? key(index / 5 % 10) : index % 5 == 1 ? key(100 + index) : nil)
                    return (index, record, notice.id, earlier)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var positions: Set<Int64> = []
        for (index, record, noticeID, earlier) in outcomes {
            if index % 5 == 0 {
                #expect(earlier == key(index / 5 % 10), "case \(index) did not replay its key")
                #expect(try await store.caseRecord(record.id) == nil)
            } else {
                #expect(earlier == nil, "case \(index) replayed")
                #expect(try await store.caseRecord(record.id) == record)
                positions.insert(try #require(try await store.notice(noticeID)).position)
            }
        }
        #expect(positions.count == count - count / 5)
        #expect(try await store.idempotencyRecord(scope: "cases:tok_r", key: "key-101") == key(101))
        #expect(try await store.deliveries(DeliveryQuery(limit: 500)).count == count - count / 5)
    }

    static func idempotency(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        let first = Synthetic.caseRecord(urls: ["https://a.example.com/1"])
        let key = IdempotencyRecord(
            scope: "cases:tok_1", key: "k-1", requestHash: "h1", status: 201, body: Data("{\"first\":1}".utf8),
            createdAt: Synthetic.epoch)
        #expect(
            try await store.insertCase(
                first, notices: [Synthetic.notice(for: first, partner: partner.id)], deliveries: [], idempotency: key)
                == nil)
        #expect(try await store.idempotencyRecord(scope: "cases:tok_1", key: "k-1") == key)
        #expect(try await store.idempotencyRecord(scope: "cases:tok_2", key: "k-1") == nil)

        let second = Synthetic.caseRecord(urls: ["https://a.example.com/2"])
        var again = key
        again.body = Data("{\"second\":1}".utf8)
        let secondNotice = Synthetic.notice(for: second, partner: partner.id)
        let replayed = try await store.insertCase(
            second, notices: [secondNotice], deliveries: [Synthetic.delivery(for: secondNotice)], idempotency: again)
        #expect(replayed == key)
        #expect(try await store.deliveries(DeliveryQuery()).isEmpty)
        #expect(try await store.caseRecord(second.id) == nil)
        #expect(try await store.notices(after: 0, limit: 10, partner: nil).count == 1)
    }

    static func casePaging(_ store: any GatewayStore) async throws {
        var records: [Case] = []
        for index in 0..<5 {
            var record = Synthetic.caseRecord(
                urls: ["https://x.test/\(index)"], reference: index == 3 ? "REF-3" : "REF-\(Synthetic.hex(4))",
                at: Synthetic.epoch.addingTimeInterval(Double(index) * 60))
            if index % 2 == 0 {
                record.items[0].unroutedReason = "no_matching_domain"
            } else {
                record.items[0].noticeId = .generate()
            }
            _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil)
            records.append(record)
        }
        let page1 = try await store.cases(CaseQuery(limit: 2))
        #expect(page1.map(\.record.id) == records[0..<2].map(\.id))
        let page2 = try await store.cases(CaseQuery(after: page1.last!.position, limit: 10))
        #expect(page2.map(\.record.id) == records[2...].map(\.id))
        #expect(try await store.cases(CaseQuery(reference: "REF-3")).map(\.record.id) == [records[3].id])
        #expect(
            try await store.cases(CaseQuery(unroutedOnly: true)).map(\.record.id) == [0, 2, 4].map { records[$0].id })
        let window = CaseQuery(
            createdFrom: Synthetic.epoch.addingTimeInterval(60), createdTo: Synthetic.epoch.addingTimeInterval(180))
        #expect(try await store.cases(window).map(\.record.id) == [records[1].id, records[2].id])
    }

    static func routeItems(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        var record = Synthetic.caseRecord(urls: ["https://nowhere.test/1", "https://nowhere.test/2"])
        record.items[0].unroutedReason = "no_matching_domain"
        record.items[1].unroutedReason = "no_matching_domain"
        _ = try await store.insertCase(record, notices: [], deliveries: [], idempotency: nil)

        let notice = Synthetic.notice(for: record, partner: partner.id, urls: ["https://nowhere.test/1"])
        let stored = try await store.routeItems(
            of: record.id, urls: ["https://nowhere.test/1"], notice: notice, deliveries: [])
        #expect(stored.position > 0)
        let after = try #require(try await store.caseRecord(record.id))
        #expect(after.items[0].noticeId == notice.id)
        #expect(after.items[0].unroutedReason == nil)
        #expect(after.items[1].noticeId == nil)

        let twice = Synthetic.notice(for: record, partner: partner.id, urls: ["https://nowhere.test/1"])
        await #expect(throws: StoreError.self) {
            _ = try await store.routeItems(
                of: record.id, urls: ["https://nowhere.test/1"], notice: twice, deliveries: [])
        }
        #expect(try await store.notice(twice.id) == nil)
    }

    static func noticePaging(_ store: any GatewayStore) async throws {
        let a = try await insertedPartner(store, domains: ["a.test"])
        let b = try await insertedPartner(store, domains: ["b.test"])
        var issued: [Notice] = []
        for index in 0..<6 {
            let record = Synthetic.caseRecord(urls: ["https://x.test/\(index)"])
            let notice = Synthetic.notice(for: record, partner: index % 3 == 0 ? b.id : a.id)
            _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
            issued.append(notice)
        }
        let all = try await store.notices(after: 0, limit: 100, partner: nil)
        #expect(all.map(\.id) == issued.map(\.id))
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.position < $1.position })

        let ownA = try await store.notices(after: 0, limit: 2, partner: a.id)
        #expect(ownA.map(\.id) == [issued[1].id, issued[2].id])
        let restA = try await store.notices(after: ownA.last!.position, limit: 100, partner: a.id)
        #expect(restA.map(\.id) == [issued[4].id, issued[5].id])
        #expect(try await store.notices(after: restA.last!.position, limit: 100, partner: a.id).isEmpty)
        #expect(try await store.notices(after: 0, limit: 100, partner: b.id).map(\.id) == [issued[0].id, issued[3].id])

        // The lean page is the full page's states, page for page, under every filter.
        _ = try await store.updateNotices([issued[2].id]) { notice in
            try notice.apply(.acknowledge, at: Synthetic.epoch.addingTimeInterval(60), actor: "partner:x")
        }
        let filters = [
            NoticeFilter(), NoticeFilter(statuses: [.acknowledged]), NoticeFilter(statuses: [.issued, .delivered]),
            NoticeFilter(deadlineBefore: Synthetic.epoch.addingTimeInterval(86_401)),
            NoticeFilter(deadlineBefore: Synthetic.epoch), NoticeFilter(statuses: []),
        ]
        for filter in filters {
            for partner in [nil, a.id, b.id] {
                for (after, limit) in [(Int64(0), 100), (Int64(0), 2), (all[1].position, 3)] {
                    let full = try await store.notices(after: after, limit: limit, partner: partner, filter: filter)
                    let lean = try await store.noticeStates(
                        after: after, limit: limit, partner: partner, filter: filter)
                    #expect(lean == full.map(NoticeState.init), "\(filter) \(String(describing: partner)) \(after)")
                }
            }
        }
        #expect(try await store.noticeStates(after: 0, limit: 100, partner: nil, filter: NoticeFilter()).count == 6)
        // No status asked for matches no notice (not every notice).
        #expect(try await store.notices(after: 0, limit: 100, partner: nil, filter: NoticeFilter(statuses: [])).isEmpty)
        let acknowledged = NoticeFilter(statuses: [.acknowledged], deadlineBefore: .distantFuture)
        #expect(
            try await store.noticeStates(after: 0, limit: 100, partner: a.id, filter: acknowledged).map(\.id)
                == (try await store.notices(after: 0, limit: 100, partner: a.id)).filter { $0.status == .acknowledged }
                .map(\.id))
    }

    static func noticeUpdates(_ store: any GatewayStore) async throws {
        let partner = try await insertedPartner(store)
        let record = Synthetic.caseRecord(urls: ["https://a.example.com/1", "https://a.example.com/2"])
        let notice = Synthetic.notice(for: record, partner: partner.id)
        _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
        let later = Synthetic.epoch.addingTimeInterval(600)

        let changed = try await store.updateNotices([notice.id, NoticeID.generate()]) { notice in
            try notice.apply(
                .removal(action: .disabled, removedAt: nil, urls: ["https://a.example.com/1"]), at: later,
                actor: "partner:x")
        }
        #expect(changed.count == 1)
        var stored = try #require(try await store.notice(notice.id))
        #expect(stored.status == .acknowledged)
        #expect(stored.acknowledgedAt == later)
        #expect(stored.items[0] == NoticeItem(url: "https://a.example.com/1", removedAt: later, action: .disabled))
        #expect(stored.timeline.map(\.event) == ["issued", "removal_reported"])

        // No change: nothing written.
        _ = try await store.updateNotices([notice.id]) { _ in false }
        #expect(try await store.notice(notice.id) == stored)

        // A throwing change rolls back everything it did.
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await store.updateNotices([notice.id]) { notice in
                notice.status = .withdrawn
                notice.timeline.append(TimelineEvent(at: later, event: "withdrawn", actor: "x"))
                throw Boom()
            }
        }
        #expect(try await store.notice(notice.id) == stored)

        _ = try await store.updateNotices([notice.id]) { notice in
            try notice.apply(.removal(action: .removed, removedAt: later, urls: nil), at: later, actor: "partner:x")
        }
        stored = try #require(try await store.notice(notice.id))
        #expect(stored.status == .removed)
        #expect(stored.removedAt == later)
        #expect(stored.timeline.map(\.event) == ["issued", "removal_reported", "removed"])

        // Read without documents: the closure and the result see none, the stored ones stay, the change lands.
        let storedSequence = stored.sequence
        let lean = try await store.updateNotices([notice.id], documents: false, outbox: { _ in [] }) { notice in
            #expect(notice.document.isEmpty && notice.jws.isEmpty)
            #expect(notice.items.count == 2 && notice.sequence == storedSequence)
            notice.timeline.append(TimelineEvent(at: later, event: "note", actor: "x"))
            return true
        }
        #expect(lean.first?.document.isEmpty == true && lean.first?.status == .removed)
        let after = try #require(try await store.notice(notice.id))
        #expect(after.document == notice.document && after.jws == notice.jws && !after.jws.isEmpty)
        #expect(after.timeline.map(\.event).last == "note" && after.items == stored.items)
    }

    static func migrateTwice(_ store: any GatewayStore) async throws {
        try await store.migrate()
        try await store.ping()
    }

    public static func insertedPartner(_ store: any GatewayStore, domains: [String] = ["example.com"]) async throws
        -> Partner
    {
        let partner = Synthetic.partner(domains: domains)
        try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        return partner
    }
}
