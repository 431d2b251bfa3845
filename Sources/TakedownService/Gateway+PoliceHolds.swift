import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore

/// The hold-to-release figures of one police partner.
public struct HoldFigures: Encodable, Sendable, Equatable {
    public var partnerId: PartnerID
    public var name: String
    public var holds: Int
    public var released: Int
    public var open: Int
    /// Open holds past their end.
    public var overdue: Int
    public var medianSecondsToRelease: Double?
    public var p90SecondsToRelease: Double?
}

/// `GET /v1/stats/holds`: holds made in a window, per police partner.
public struct HoldReport: Encodable, Sendable, Equatable {
    public var from: Date?
    public var to: Date?
    public var partners: [HoldFigures]
}

extension HoldDesk {
    /// Traces and routes a case like any other, but issues nothing: the plan (who gets which URLs) is kept
    /// with the case under a hold, in one transaction, for the police partner named to release it.
    func submitHeldCase(
        _ record: inout Case, hold input: PoliceHoldInput, by principal: Principal, scope: String,
        idempotency: IdempotencyKey?, at now: Date
    ) async throws -> CaseReceipt {
        let (policeID, reason, endsAt) = try gateway.validated { () throws(ValidationError) in
            try input.validated(at: now)
        }
        guard let police = try await store.partner(policeID), police.kind == .lawEnforcement else {
            throw GatewayError.invalid(
                ValidationError([FieldError(name: "police_hold.partner_id", reason: "is not a law-enforcement partner")]
                ))
        }
        let (_, groups, unrouted) = try await gateway.caseDesk.plan(for: &record, at: now, referrals: true)
        let hold = PoliceHold(
            id: .generate(), caseId: record.id, policePartnerId: police.id, reason: reason, heldAt: now,
            heldBy: principal.actor, endsAt: endsAt,
            plan: groups.map { .init(partnerId: $0.0, urls: $0.1.map { record.items[$0].url }) })
        let receipt = CaseReceipt(
            id: record.id, reference: record.reference, notices: [], unrouted: unrouted,
            hold: .init(id: hold.id, policePartnerId: police.id, endsAt: endsAt, planned: hold.plan))
        let stored = try idempotency.map {
            IdempotencyRecord(
                scope: scope, key: $0.key, requestHash: $0.bodyHash, status: 201,
                body: try WireFormat.encoder().encode(receipt), createdAt: now)
        }
        if let earlier = try await store.insertHeldCase(record, hold: hold, idempotency: stored), let idempotency {
            return try gateway.caseDesk.replay(earlier, bodyHash: idempotency.bodyHash)
        }
        logger.info(
            "case held for the police",
            metadata: ["case_id": "\(record.id)", "hold_id": "\(hold.id)", "planned": "\(hold.plan.count)"])
        return receipt
    }

    /// A hold its caller may see: staff, or its police partner (anyone else gets not found).
    public func hold(_ id: HoldID, for principal: Principal) async throws -> PoliceHold {
        guard let hold = try await store.hold(id), hold.isVisible(to: principal) else {
            throw GatewayError.notFound("hold \(id)")
        }
        return hold
    }

    /// The case's hold, for staff.
    public func hold(ofCase id: CaseID) async throws -> PoliceHold? {
        try await store.hold(ofCase: id)
    }

    /// Holds newest first; a police partner sees only its own.
    public func holds(status: PoliceHold.Status?, limit: Int, for principal: Principal) async throws -> [PoliceHold] {
        if !principal.isStaff {
            guard let id = principal.partnerID, try await store.partner(id)?.kind == .lawEnforcement else {
                throw GatewayError.forbidden("only staff and law-enforcement partners see holds")
            }
        }
        return try await store.holds(.init(policePartner: principal.partnerID, status: status, limit: limit))
    }

    /// Moves a hold's end: the police ask for more time. The hold is escalated again if this end passes.
    public func delayHold(_ id: HoldID, _ input: HoldDelayInput, by principal: Principal) async throws -> PoliceHold {
        var hold = try await self.hold(id, for: principal)
        let now = clock()
        try gateway.validated { () throws(ValidationError) in
            var v = Validator()
            let until = v.require(input.until, "until")
            let reason = v.text(input.reason, "reason", max: 2_000, required: false)
            try v.check()
            if hold.status != .held { return }
            try hold.delay(until: until!, reason: reason, at: now, by: principal.actor)
        }
        guard hold.status == .held, try await store.updateHeldHold(hold) else {
            throw GatewayError.conflict("hold \(id) was released")
        }
        return hold
    }

    /// Releases a hold: each planned notice is composed, signed and issued now, its clock starting now,
    /// and sent as any other. Once only; a second release is a conflict.
    public func releaseHold(_ id: HoldID, by principal: Principal) async throws -> PoliceHold {
        var hold = try await self.hold(id, for: principal)
        guard hold.status == .held else { throw GatewayError.conflict("hold \(id) was released") }
        let record = try await gateway.caseDesk.caseRecord(hold.caseId)
        let now = clock()
        var notices: [Notice] = []
        var deliveries: [Delivery] = []
        for planned in hold.plan {
            let partner = try await gateway.partnerDesk.partner(planned.partnerId)
            let items = planned.urls.compactMap { url in record.items.first { $0.url == url } }
            let notice = try gateway.caseDesk.issue(
                for: record, items: items, to: partner, policy: try await gateway.policy(for: partner), at: now,
                actor: principal.actor)
            notices.append(notice)
            deliveries += try gateway.deliveries(for: notice, to: partner, type: WebhookEvent.issued, at: now)
        }
        hold.status = .released
        hold.releasedAt = now
        hold.releasedBy = principal.actor
        hold.noticeIds = notices.map(\.id)
        do {
            try await store.releaseHold(hold, notices: notices, deliveries: deliveries)
        } catch StoreError.conflict(let detail) {
            throw GatewayError.conflict(detail)
        }
        if !deliveries.isEmpty { onEnqueue() }
        logger.info(
            "police hold released",
            metadata: ["hold_id": "\(id)", "case_id": "\(hold.caseId)", "notices": "\(notices.count)"])
        return hold
    }

    /// Escalates to staff every open hold past its end, once each: it is marked escalated (the console’s
    /// dashboard and `GET /v1/holds` show it) and logged as a warning. Returns how many.
    @discardableResult
    public func escalateOverdueHolds(limit: Int = 500) async throws -> Int {
        let escalated = try await store.escalateOverdueHolds(at: clock(), limit: limit)
        for hold in escalated {
            logger.warning(
                "police hold past its end; escalated to staff",
                metadata: [
                    "hold_id": "\(hold.id)", "case_id": "\(hold.caseId)",
                    "police_partner_id": "\(hold.policePartnerId)",
                    "ends_at": "\(Timestamp.format(hold.endsAt))",
                ])
        }
        return escalated.count
    }

    /// Per police partner, the holds made in [from, to): how many, released, open and overdue, and the
    /// median and p90 time from hold to release.
    public func holdReport(from: Date?, to: Date?) async throws -> HoldReport {
        if let from, let to, from >= to {
            throw GatewayError.badParameter(name: "to", reason: "must be after from")
        }
        let now = clock()
        // Holds are few (a police investigation each); the window's holds are read whole.
        let holds = try await store.holds(.init(heldFrom: from, heldTo: to, limit: 1_000_000))
        let byPartner = Dictionary(grouping: holds, by: \.policePartnerId)
        var figures: [HoldFigures] = []
        for (id, mine) in byPartner {
            let times = RemovalFigures.durations(mine.compactMap(\.secondsHeld))
            let name = try await store.partner(id)?.name ?? id.rawValue
            figures.append(
                HoldFigures(
                    partnerId: id, name: name, holds: mine.count, released: times.count,
                    open: mine.count { $0.status == .held }, overdue: mine.count { $0.isOverdue(at: now) },
                    medianSecondsToRelease: times.medianSeconds, p90SecondsToRelease: times.p90Seconds))
        }
        return HoldReport(
            from: from, to: to, partners: figures.sorted { $0.partnerId.rawValue < $1.partnerId.rawValue })
    }
}
