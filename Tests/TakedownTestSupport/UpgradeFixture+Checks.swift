import Foundation
import TakedownModel
import TakedownStore
import Testing

extension UpgradeFixture {
    /// Reads the fixture back through the store's contract after the upgrade, then uses it: rescues the
    /// dead gateway's lease, claims the due deliveries, climbs the ladder, claims verifications, edits
    /// the list and writes new rows after the old ones.
    public static func check(_ store: any GatewayStore, upgradedFrom version: String) async throws {
        let level = level(version)
        #expect(try await store.partners() == expectedPartners(level))
        let tokens = try await store.tokens(after: 0, limit: 10, partner: nil)
        #expect(tokens.map(\.token) == expectedTokens(level))
        #expect(tokens.map(\.position) == tokens.map(\.position).sorted() && Set(tokens.map(\.position)).count == 3)
        #expect(try await store.tokens(after: 0, limit: 10, partner: hosting).map(\.token.id) == [partnerToken])
        #expect(try await store.token(secretHash: secretHashes[1]) == expectedTokens(level)[1])
        #expect(try await store.hasAdmin(at: at(0)))

        #expect(try await store.caseRecord(cases[0]) == expectedCase)
        let listed = try await store.cases(CaseQuery())
        #expect(listed.map(\.record.id) == cases)
        #expect(listed.map(\.position) == [1, 2, 3])
        #expect(
            try await store.idempotencyRecord(scope: idempotency.scope, key: idempotency.key)
                == IdempotencyRecord(
                    scope: idempotency.scope, key: idempotency.key, requestHash: idempotency.hash, status: 201,
                    body: Data(#"{"id":"first answer"}"#.utf8), createdAt: at(0)))

        let notices = expectedNotices(level)
        for notice in notices { #expect(try await store.notice(notice.id) == notice) }
        #expect(try await store.notices(after: 0, limit: 10, partner: hosting) == notices)
        let ladder: [TimeInterval] = [2 * hour, day, 2 * day, 7 * day]
        #expect(
            try await store.dueLadderSteps(policy: .standard, offsets: ladder, now: at(day + hour), limit: 10)
                == [notices[0].id])

        if level >= 2 { try await checkOutbox(store, level) }
        if level >= 4 { try await checkHashList(store) }
        if level >= 5 {
            #expect(try await store.slaPolicies() == [expectedPolicy])
            #expect(try await store.verificationChecks(notice: notices[0].id) == [expectedCheck])
        }
        // Open and removed notices are due for a check (before v5: from their issue on), withdrawn ones not.
        let claims = try await store.claimVerifications(now: at(7 * hour), lease: 75, limit: 10)
        #expect(Set(claims.map(\.noticeId)) == [notices[0].id, notices[1].id])
        #expect(try await store.auditEntries(actor: nil, target: nil, after: 0, limit: 10).isEmpty)
        try await checkNewRows(store)
    }

    static func checkOutbox(_ store: any GatewayStore, _ level: Int) async throws {
        let deliveries = expectedDeliveries(level)
        let attempts = expectedAttempts(level)
        for delivery in deliveries {
            let stored = try #require(try await store.delivery(delivery.id), "\(delivery.eventType) \(delivery.state)")
            #expect(stored.0 == delivery)
            #expect(stored.1 == attempts.filter { $0.0 == delivery.id }.map(\.1))
        }
        #expect(try await store.deliveries(DeliveryQuery(partner: hosting)).map(\.delivery) == deliveries)
        #expect(try await store.webhookSecrets(partner: hosting, now: at(0)) == [webhookSecret])
        #expect(try await store.endpointStates(partner: hosting) == [expectedEndpoint(level)])
        #expect(try await store.leaseOwners() == ["oldhost/4242/7"])
        // The dead gateway's lease runs out; then the due rows go out, oldest first, one per endpoint.
        #expect(try await store.rescueExpiredLeases(now: at(44)) == 0)
        #expect(try await store.rescueExpiredLeases(now: at(45)) == 1)
        let claimed = try await store.claimDeliveries(
            owner: "new/1/1", limit: 10, now: at(100), lease: 45, perEndpointCap: 1)
        #expect(claimed.map(\.id) == [deliveries[3].id, deliveries[2].id])
        #expect(claimed.map(\.leaseToken) == [2, 1])
    }

    static func checkHashList(_ store: any GatewayStore) async throws {
        let list = expectedHashList
        #expect(try await store.hashList(list.id) == list)
        #expect(try await store.hashLists(grantedTo: hosting).map(\.id) == [list.id])
        for entry in expectedEntries { #expect(try await store.hashListEntry(list.id, entry.id) == entry) }
        let records = expectedRecords.map(\.0)
        #expect(try await store.hashListRecords(list.id, after: 0, liveAt: nil, limit: 10) == records)
        #expect(try await store.hashListRecords(list.id, after: 0, liveAt: 2, limit: 10) == Array(records.prefix(2)))
        #expect(try await store.hashListVersions(list.id) == [expectedVersion])
        #expect(try await store.hashListDownloads(list.id, after: 0, limit: 10).map(\.download) == [expectedDownload])
        #expect(
            try await store.hashListFeedback(list.id, status: .open, partner: nil, after: 0, limit: 10).map(\.feedback)
                == [expectedFeedback])
        // Edits carry on the old log: the same file again is the live entry; a deletion is the next change.
        let live = expectedEntries[0]
        let again = HashEntryDraft(
            key: "sha256:\(live.hashes.sha256!)", mediaType: .image, hashes: live.hashes,
            classification: live.classification, caseId: nil)
        #expect(try await store.editHashList(list.id, [.add(again)], at: at(10)) == [live])
        let deleted = try await store.editHashList(list.id, [.delete(live.id, .duplicate)], at: at(11))
        #expect(deleted.map(\.seq) == [4])
        #expect(try await store.hashListRecords(list.id, after: 0, liveAt: 3, limit: 10) == [records[0]])
        #expect(try await store.hashListRecords(list.id, after: 0, liveAt: 4, limit: 10).isEmpty)
        #expect(try await store.hashList(list.id)?.entryCount == 0)
    }

    /// New rows follow the old ones: positions, counters and token order carry on.
    static func checkNewRows(_ store: any GatewayStore) async throws {
        let record = Synthetic.caseRecord(urls: ["https://upgrade.test/new.jpg"], at: at(day))
        let notice = Synthetic.notice(for: record, partner: hosting, at: at(day))
        _ = try await store.insertCase(
            record, notices: [notice], deliveries: [Synthetic.delivery(for: notice, endpoint: webhook, at: at(day))],
            idempotency: nil)
        #expect(try await store.notice(notice.id)?.position == 4)
        #expect(try await store.cases(CaseQuery(after: 3)).map(\.record.id) == [record.id])
        let token = Synthetic.token(partner: hosting)
        try await store.insertToken(token)
        #expect(try await store.tokens(after: 0, limit: 10, partner: nil).map(\.token.id).last == token.id)
        let partner = Synthetic.partner("After Upgrade", domains: ["after.test"])
        try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        #expect(try await store.partner(partner.id) == partner)
    }
}
