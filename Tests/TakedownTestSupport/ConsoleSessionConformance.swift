import Foundation
import TakedownModel
import TakedownStore
import Testing

/// Console sessions in the storage contract: found by hash with their token's credential, used, ended,
/// swept; a session follows its token and partner.
public enum ConsoleSessionConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "console: a session is found by its hash with its token's credential, and ends once": roundTrip,
        "console: a session's use is written only when stale; expired and idle ones are swept": useAndSweep,
        "console: a session follows its token's revocation and its partner's suspension": followsToken,
        "console: the board lists open notices by deadline, the inbox overdue first, and counts them": board,
    ]

    static let t0 = Synthetic.epoch

    static func session(_ token: TokenRecord, at: Date = t0) -> ConsoleSession {
        ConsoleSession(
            idHash: Synthetic.hex(64), tokenID: token.id, csrfToken: Synthetic.hex(32), createdAt: at,
            expiresAt: at.addingTimeInterval(ConsoleSession.lifetime), lastSeenAt: at)
    }

    static func roundTrip(_ store: any GatewayStore) async throws {
        let token = Synthetic.token(role: .analyst)
        try await store.insertToken(token)
        let first = session(token)
        try await store.insertConsoleSession(first)
        let found = try #require(try await store.consoleSession(idHash: first.idHash))
        #expect(found.session == first)
        #expect(found.credential.token == token && !found.credential.partnerSuspended)
        #expect(try await store.consoleSession(idHash: Synthetic.hex(64)) == nil)

        await #expect(throws: StoreError.self) { try await store.insertConsoleSession(first) }
        var orphan = session(token)
        orphan.tokenID = TokenID(rawValue: "tok_missing")
        await #expect(throws: StoreError.self) { try await store.insertConsoleSession(orphan) }

        #expect(try await store.deleteConsoleSession(idHash: first.idHash))
        #expect(try await store.consoleSession(idHash: first.idHash) == nil)
        #expect(try await !store.deleteConsoleSession(idHash: first.idHash))
    }

    static func useAndSweep(_ store: any GatewayStore) async throws {
        let token = Synthetic.token(role: .admin)
        try await store.insertToken(token)
        let used = session(token)
        try await store.insertConsoleSession(used)
        let soon = t0.addingTimeInterval(30)
        try await store.recordConsoleSessionUse(
            idHash: used.idHash, at: soon, staleBefore: soon.addingTimeInterval(-60))
        #expect(try await store.consoleSession(idHash: used.idHash)?.session.lastSeenAt == t0)
        let later = t0.addingTimeInterval(90)
        try await store.recordConsoleSessionUse(
            idHash: used.idHash, at: later, staleBefore: later.addingTimeInterval(-60))
        #expect(try await store.consoleSession(idHash: used.idHash)?.session.lastSeenAt == later)

        let idle = session(token)
        try await store.insertConsoleSession(idle)
        var old = session(token, at: t0.addingTimeInterval(-ConsoleSession.lifetime))
        old.lastSeenAt = later
        try await store.insertConsoleSession(old)
        let swept = try await store.deleteConsoleSessions(expiredAt: later, idleBefore: t0.addingTimeInterval(60))
        #expect(swept == 2)
        #expect(try await store.consoleSession(idHash: used.idHash) != nil)
        #expect(try await store.consoleSession(idHash: idle.idHash) == nil)
        #expect(try await store.consoleSession(idHash: old.idHash) == nil)
    }

    static func followsToken(_ store: any GatewayStore) async throws {
        let partner = Synthetic.partner(domains: ["\(Synthetic.hex(8)).test"])
        let token = Synthetic.token(partner: partner.id)
        try await store.insertPartner(partner, token: token, webhookSecret: nil)
        let opened = session(token)
        try await store.insertConsoleSession(opened)
        #expect(try await store.consoleSession(idHash: opened.idHash)?.credential.principal(at: t0) != nil)

        _ = try await store.suspendPartner(partner.id, reason: "held", at: t0.addingTimeInterval(1))
        let held = try #require(try await store.consoleSession(idHash: opened.idHash))
        #expect(held.credential.partnerSuspended && held.credential.principal(at: t0) == nil)

        let staff = Synthetic.token(role: .analyst)
        try await store.insertToken(staff)
        let signedIn = session(staff)
        try await store.insertConsoleSession(signedIn)
        #expect(try await store.revokeToken(staff.id, at: t0.addingTimeInterval(2)))
        let revoked = try #require(try await store.consoleSession(idHash: signedIn.idHash))
        #expect(revoked.credential.principal(at: t0.addingTimeInterval(3)) == nil)
    }

    static func board(_ store: any GatewayStore) async throws {
        let a = try await StoreConformance.insertedPartner(store, domains: ["a.test"])
        let b = try await StoreConformance.insertedPartner(store, domains: ["b.test"])
        // Issued an hour apart; deadlines in an order of their own; the fourth is closed.
        let deadlines: [TimeInterval] = [5, 1, 4, 2, 3, -1]
        var issued: [Notice] = []
        for (index, offset) in deadlines.enumerated() {
            let at = t0.addingTimeInterval(Double(index) * 3600)
            let record = Synthetic.caseRecord(urls: ["https://x.test/\(index)"], at: at)
            var notice = Synthetic.notice(for: record, partner: index % 2 == 0 ? a.id : b.id, at: at)
            notice.deadlineAt = t0.addingTimeInterval(offset * 86400)
            if index == 3 { notice.status = .removed }
            _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
            issued.append(notice)
        }
        let now = t0.addingTimeInterval(1.5 * 86400)
        let open = try await store.noticeBoard(NoticeBoardQuery(order: .openByDeadline, limit: 10))
        #expect(open.map(\.id) == [5, 1, 4, 2, 0].map { issued[$0].id })
        let page = try await store.noticeBoard(NoticeBoardQuery(order: .openByDeadline, limit: 2, offset: 2))
        #expect(page.map(\.id) == [4, 2].map { issued[$0].id })
        let ownB = try await store.noticeBoard(NoticeBoardQuery(order: .openByDeadline, partner: b.id, limit: 10))
        #expect(ownB.map(\.id) == [5, 1].map { issued[$0].id })

        // b's inbox at `now`: 5 and 1 are overdue (newest first), then 3, closed, by issue.
        let inbox = try await store.noticeBoard(
            NoticeBoardQuery(order: .overdueThenNewest(now: now), partner: b.id, limit: 10))
        #expect(inbox.map(\.id) == [5, 1, 3].map { issued[$0].id })
        #expect(inbox.first?.timeline.isEmpty == false)

        let counts = try await store.noticeCounts(
            partner: nil, now: now, issuedSince: [t0.addingTimeInterval(4 * 3600), t0])
        #expect(counts == NoticeCounts(open: 5, overdue: 2, issuedSince: [2, 6]))
        let countsA = try await store.noticeCounts(partner: a.id, now: now, issuedSince: [t0.addingTimeInterval(1)])
        #expect(countsA == NoticeCounts(open: 3, overdue: 0, issuedSince: [2]))
    }
}
