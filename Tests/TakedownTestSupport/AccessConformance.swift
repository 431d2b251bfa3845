import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The access part of the storage contract: token expiry, listing and last use, the bootstrap admin,
/// partner suspension and what it holds back.
public enum AccessConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "access: tokens keep expiry and last use, and list in creation order": tokenListing,
        "access: a use is written only when the stored one is stale": tokenUse,
        "access: an expired admin is no admin": expiredAdmin,
        "access: the bootstrap admin is inserted once, never over a revoked secret": bootstrap,
        "access: instances bootstrapping together insert one admin": bootstrapRace,
        "access: a suspended partner's credentials say so; suspending twice changes nothing": suspension,
        "access: claims hold a suspended partner's deliveries until it is re-activated": suspendedClaims,
        "outbox: deliveries not yet done follow the partner's channels; a removed channel cancels them":
            followChannels,
    ]

    static let t0 = Synthetic.epoch

    static func tokenListing(_ store: any GatewayStore) async throws {
        let partner = try await StoreConformance.insertedPartner(store, domains: ["\(Synthetic.hex(8)).test"])
        var staff = Synthetic.token(role: .analyst)
        staff.expiresAt = t0.addingTimeInterval(3600)
        try await store.insertToken(staff)
        let second = Synthetic.token(partner: partner.id)
        try await store.insertToken(second)
        #expect(try await store.token(secretHash: staff.secretHash) == staff)

        let all = try await store.tokens(after: 0, limit: 10, partner: nil)
        #expect(all.count == 3)
        #expect(all.map(\.token.id).suffix(2) == [staff.id, second.id])
        #expect(all.map(\.position) == all.map(\.position).sorted())
        #expect(all[1].token.expiresAt == staff.expiresAt)

        let page = try await store.tokens(after: 0, limit: 2, partner: nil)
        let rest = try await store.tokens(after: page[1].position, limit: 2, partner: nil)
        #expect((page + rest).map(\.token.id) == all.map(\.token.id))
        #expect(try await store.tokens(after: all[2].position, limit: 2, partner: nil).isEmpty)

        let partners = try await store.tokens(after: 0, limit: 10, partner: partner.id)
        #expect(partners.count == 2 && partners.allSatisfy { $0.token.partnerID == partner.id })
    }

    static func tokenUse(_ store: any GatewayStore) async throws {
        let token = Synthetic.token(role: .admin)
        try await store.insertToken(token)
        try await store.recordTokenUse(token.id, at: t0, staleBefore: t0.addingTimeInterval(-60))
        #expect(try await store.token(secretHash: token.secretHash)?.lastUsedAt == t0)
        // 30 s later the stored use is fresh: nothing is written.
        let soon = t0.addingTimeInterval(30)
        try await store.recordTokenUse(token.id, at: soon, staleBefore: soon.addingTimeInterval(-60))
        #expect(try await store.token(secretHash: token.secretHash)?.lastUsedAt == t0)
        let later = t0.addingTimeInterval(61)
        try await store.recordTokenUse(token.id, at: later, staleBefore: later.addingTimeInterval(-60))
        #expect(try await store.token(secretHash: token.secretHash)?.lastUsedAt == later)
    }

    static func expiredAdmin(_ store: any GatewayStore) async throws {
        var admin = Synthetic.token(role: .admin)
        admin.expiresAt = t0.addingTimeInterval(60)
        try await store.insertToken(admin)
        #expect(try await store.hasAdmin(at: t0))
        #expect(try await store.hasAdmin(at: t0.addingTimeInterval(60)) == false)
        #expect(try await store.token(secretHash: admin.secretHash)?.principal(at: t0.addingTimeInterval(60)) == nil)
    }

    static func bootstrap(_ store: any GatewayStore) async throws {
        let first = Synthetic.token(role: .admin)
        #expect(try await store.insertBootstrapAdmin(first, now: t0) == .created)
        var again = first
        again.id = .generate()
        #expect(try await store.insertBootstrapAdmin(again, now: t0) == .adminExists)
        // Revoked: there is no admin, but the same secret is not brought back, and nothing fails.
        #expect(try await store.revokeToken(first.id, at: t0))
        #expect(try await store.insertBootstrapAdmin(again, now: t0) == .secretUsed)
        #expect(try await store.hasAdmin(at: t0) == false)
        // Another secret may become the first admin again.
        let other = Synthetic.token(role: .admin)
        #expect(try await store.insertBootstrapAdmin(other, now: t0) == .created)
        #expect(try await store.hasAdmin(at: t0))
    }

    static func bootstrapRace(_ store: any GatewayStore) async throws {
        let secretHash = Synthetic.hex(64)
        let outcomes = try await withThrowingTaskGroup(of: BootstrapOutcome.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    var token = Synthetic.token(role: .admin)
                    token.secretHash = secretHash
                    return try await store.insertBootstrapAdmin(token, now: t0)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .created }.count == 1)
        #expect(outcomes.filter { $0 == .adminExists }.count == 5)
        #expect(try await store.tokens(after: 0, limit: 10, partner: nil).count == 1)
    }

    static func suspension(_ store: any GatewayStore) async throws {
        let partner = Synthetic.partner(domains: ["\(Synthetic.hex(8)).test"])
        let token = Synthetic.token(partner: partner.id)
        try await store.insertPartner(partner, token: token, webhookSecret: nil)
        #expect(try await store.credential(secretHash: token.secretHash)?.partnerSuspended == false)
        let staff = Synthetic.token(role: .analyst)
        try await store.insertToken(staff)

        let at = t0.addingTimeInterval(10)
        let suspended = try #require(
            try await store.suspendPartner(partner.id, reason: "abuse desk unreachable", at: at))
        #expect(suspended.changed)
        #expect(suspended.0.status == .suspended && suspended.0.suspendedAt == at)
        #expect(suspended.0.suspensionReason == "abuse desk unreachable" && suspended.0.updatedAt == at)
        #expect(try await store.partner(partner.id) == suspended.0)
        let credential = try #require(try await store.credential(secretHash: token.secretHash))
        #expect(credential.partnerSuspended && credential.principal(at: at) == nil)
        #expect(try await store.credential(secretHash: staff.secretHash)?.partnerSuspended == false)

        // A second suspension keeps the first time and reason.
        let twice = try #require(
            try await store.suspendPartner(partner.id, reason: "again", at: at.addingTimeInterval(5)))
        #expect(!twice.changed && twice.0.suspendedAt == at && twice.0.suspensionReason == "abuse desk unreachable")
        // An update of its fields leaves the suspension alone.
        var renamed = twice.0
        renamed.name = "Renamed"
        try await store.updatePartner(renamed, webhookSecret: nil)
        #expect(try await store.partner(partner.id)?.status == .suspended)

        let back = try #require(try await store.reactivatePartner(partner.id, at: at.addingTimeInterval(20)))
        #expect(back.changed && back.0.status == .active && back.0.suspendedAt == nil && back.0.suspensionReason == nil)
        #expect(
            try await store.credential(secretHash: token.secretHash)?.principal(at: at)
                == .partner(token.id, partner.id))
        #expect(try await store.reactivatePartner(partner.id, at: at)?.changed == false)
        #expect(try await store.suspendPartner(.generate(), reason: "x", at: at) == nil)
        #expect(try await store.reactivatePartner(.generate(), at: at) == nil)
    }

    static func suspendedClaims(_ store: any GatewayStore) async throws {
        let (held, heldDeliveries) = try await OutboxConformance.seed(
            store, count: 2, endpoint: "https://hooks.example.com/h")
        let (_, other) = try await OutboxConformance.seed(store, count: 1, endpoint: "https://hooks.example.com/o")
        let now = t0.addingTimeInterval(100)
        _ = try await store.suspendPartner(held.id, reason: "test", at: t0)
        let claimed = try await store.claimDeliveries(owner: "w1", limit: 10, now: now, lease: 60, perEndpointCap: 5)
        #expect(claimed.map(\.id) == [other[0].id])
        // Held, not lost: still pending, and counted in the backlog.
        #expect(
            try await store.deliveries(DeliveryQuery(partner: held.id)).allSatisfy { $0.delivery.state == .pending })
        #expect(try await store.outboxStats(now: now).depth == 3)

        _ = try await store.reactivatePartner(held.id, at: now)
        let released = try await store.claimDeliveries(owner: "w2", limit: 10, now: now, lease: 60, perEndpointCap: 5)
        #expect(released.map(\.id) == heldDeliveries.map(\.id))
    }

    static func followChannels(_ store: any GatewayStore) async throws {
        var partner = Synthetic.partner(domains: ["\(Synthetic.hex(8)).test"])
        partner.delivery = DeliveryChannels(webhookUrl: "https://old.example.com/in", email: "old@example.com")
        try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: "whsec_a")
        // Per channel: one pending, one failed, one in flight, one succeeded, one dead.
        // Referrals keep the address they were written with (each goes to its own path of the peer).
        let pushChannels: [DeliveryChannel] = [.webhook, .email]
        var rows: [DeliveryChannel: [Delivery]] = [:]
        for channel in pushChannels {
            for index in 0..<5 {
                let record = Synthetic.caseRecord(urls: ["https://x.test/\(channel)/\(index)"])
                let notice = Synthetic.notice(for: record, partner: partner.id)
                var delivery = Synthetic.delivery(for: notice, endpoint: partner.delivery[channel] ?? "")
                delivery.channel = channel
                if channel == .email {
                    delivery.payload = Data(
                        "From: h@example.com\r\nTo: old@example.com\r\nSubject: x\r\n\r\nTo: body\r\n".utf8)
                }
                _ = try await store.insertCase(record, notices: [notice], deliveries: [delivery], idempotency: nil)
                rows[channel, default: []].append(delivery)
            }
        }
        let claimed = try await store.claimDeliveries(owner: "w", limit: 10, now: t0, lease: 60, perEndpointCap: 4)
        #expect(claimed.count == 8)
        let attempt = DeliveryAttempt(
            number: 1, at: t0, statusCode: 500, latencyMs: 1, error: nil, responseExcerpt: nil)
        let tokens = Dictionary(claimed.map { ($0.id, $0.leaseToken) }, uniquingKeysWith: { $1 })
        for channel in pushChannels {
            // The oldest four of each endpoint were claimed: rows 0 to 3.
            let outcomes: [DeliveryOutcome] = [.retry(at: t0, error: "500"), .succeeded, .dead(error: "gone for good")]
            let completions = zip((rows[channel] ?? [])[1...3], outcomes).map { delivery, outcome in
                DeliveryCompletion(
                    id: delivery.id, token: tokens[delivery.id] ?? -1, outcome: outcome, attempt: attempt)
            }
            #expect(try await store.completeDeliveries(completions, now: t0, pauseAfter: 86_400).count == 3)
        }
        // Now per channel: [0] in flight, [1] failed, [2] succeeded, [3] dead, [4] pending.

        var changed = partner
        changed.delivery = DeliveryChannels(webhookUrl: "https://new.example.com/in", email: nil)
        changed.updatedAt = t0.addingTimeInterval(60)
        try await store.updatePartner(changed, webhookSecret: "whsec_b")

        func stored(_ delivery: Delivery) async throws -> Delivery {
            try #require(try await store.delivery(delivery.id)).0
        }
        let hooks = rows[.webhook] ?? []
        for index in [0, 1, 4] {
            let row = try await stored(hooks[index])
            #expect(row.endpoint == "https://new.example.com/in" && row.payload == hooks[index].payload)
            #expect(row.eventId == hooks[index].eventId)
        }
        #expect(try await stored(hooks[0]).state == .inFlight)
        for index in [2, 3] { #expect(try await stored(hooks[index]).endpoint == "https://old.example.com/in") }

        let mails = rows[.email] ?? []
        for index in [0, 1, 4] {
            let row = try await stored(mails[index])
            #expect(row.state == .cancelled && row.lastError == ChannelChange.cancellation(.email))
            #expect(row.leaseOwner == nil && row.endpoint == "old@example.com")
        }
        #expect(try await stored(mails[2]).state == .succeeded)
        #expect(try await stored(mails[3]).state == .dead)
        // The cancelled row in flight records nothing when its worker reports back.
        let lateReport = DeliveryCompletion(
            id: mails[0].id, token: tokens[mails[0].id] ?? -1, outcome: .succeeded, attempt: attempt)
        #expect(try await store.completeDeliveries([lateReport], now: t0, pauseAfter: 86_400).isEmpty)

        // The moved rows are claimed for the new address; the failed one carries its attempts along.
        let later = t0.addingTimeInterval(120)
        let next = try await store.claimDeliveries(owner: "w2", limit: 10, now: later, lease: 60, perEndpointCap: 4)
        #expect(Set(next.map(\.id)) == Set([hooks[1].id, hooks[4].id]))
        #expect(next.allSatisfy { $0.endpoint == "https://new.example.com/in" })
        #expect(next.first { $0.id == hooks[1].id }?.attempts == 1)

        // An email moved to a new address names it in its header, and only there.
        var mailed = changed
        mailed.delivery.email = "first@example.com"
        try await store.updatePartner(mailed, webhookSecret: nil)
        let record = Synthetic.caseRecord(urls: ["https://x.test/mail"])
        let notice = Synthetic.notice(for: record, partner: partner.id)
        var mail = Synthetic.delivery(for: notice, endpoint: "first@example.com")
        mail.channel = .email
        mail.payload = Data("From: h@example.com\r\nTo: first@example.com\r\n\r\nTo: first@example.com\r\n".utf8)
        _ = try await store.insertCase(record, notices: [notice], deliveries: [mail], idempotency: nil)
        mailed.delivery.email = "second@example.com"
        try await store.updatePartner(mailed, webhookSecret: nil)
        let moved = try await stored(mail)
        #expect(moved.endpoint == "second@example.com" && moved.state == .pending)
        #expect(
            String(decoding: moved.payload, as: UTF8.self)
                == "From: h@example.com\r\nTo: second@example.com\r\n\r\nTo: first@example.com\r\n")
    }
}
