import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/holds`: cases held for the police. Staff and the hold's law-enforcement partner see a hold, ask
/// for a delay and release it; a provider never sees one (its notices do not exist until release).
struct HoldsController {
    let holdDesk: HoldDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("holds", use: list)
        group.get("holds/{hold_id}", use: show)
        group.post("holds/{hold_id}/delay", use: delay)
        group.post("holds/{hold_id}/release", use: release)
        group.get("stats/holds", use: report)
    }

    /// A hold as the API shows it: every member present (null when unset), and whether it is overdue.
    struct View: Encodable {
        var hold: PoliceHold
        var now: Date

        enum Keys: String, CodingKey {
            case id, caseId, policePartnerId, status, reason, heldAt, heldBy, endsAt, overdue, plan, delayedAt,
                delayedBy, delayReason, escalatedAt, releasedAt, releasedBy, secondsHeld, noticeIds
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(hold.id, forKey: .id)
            try container.encode(hold.caseId, forKey: .caseId)
            try container.encode(hold.policePartnerId, forKey: .policePartnerId)
            try container.encode(hold.status, forKey: .status)
            try container.encode(hold.reason, forKey: .reason)
            try container.encode(hold.heldAt, forKey: .heldAt)
            try container.encode(hold.heldBy, forKey: .heldBy)
            try container.encode(hold.endsAt, forKey: .endsAt)
            try container.encode(hold.isOverdue(at: now), forKey: .overdue)
            try container.encode(hold.plan, forKey: .plan)
            try container.encode(hold.delayedAt, forKey: .delayedAt)
            try container.encode(hold.delayedBy, forKey: .delayedBy)
            try container.encode(hold.delayReason, forKey: .delayReason)
            try container.encode(hold.escalatedAt, forKey: .escalatedAt)
            try container.encode(hold.releasedAt, forKey: .releasedAt)
            try container.encode(hold.releasedBy, forKey: .releasedBy)
            try container.encode(hold.secondsHeld, forKey: .secondsHeld)
            try container.encode(hold.noticeIds, forKey: .noticeIds)
        }
    }

    struct Listing: Encodable {
        var holds: [View]
        var nextCursor: String
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        var status: PoliceHold.Status?
        if let text = request.query("status") {
            guard let value = PoliceHold.Status(rawValue: text) else {
                throw APIError.badParameter(
                    "status", "must be one of: " + PoliceHold.Status.allCases.map(\.rawValue).joined(separator: ", "))
            }
            status = value
        }
        let holds = try await holdDesk.holds(status: status, limit: 10_000, for: principal)
        let page = try request.page(of: holds)
        let now = holdDesk.now()
        return try .json(Listing(holds: page.items.map { View(hold: $0, now: now) }, nextCursor: page.nextCursor))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("hold_id", as: HoldID.self)
        return try .json(View(hold: try await holdDesk.hold(id, for: principal), now: holdDesk.now()))
    }

    @Sendable func delay(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("hold_id", as: HoldID.self)
        let body = try await JSONBody<HoldDelayInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let hold = try await holdDesk.delayHold(id, body.value, by: principal)
        return try .json(View(hold: hold, now: holdDesk.now()))
    }

    @Sendable func release(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("hold_id", as: HoldID.self)
        let hold = try await holdDesk.releaseHold(id, by: principal)
        return try .json(View(hold: hold, now: holdDesk.now()))
    }

    /// Time from hold to release per police partner, for holds made in [from, to); staff only.
    @Sendable func report(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try .json(try await holdDesk.holdReport(from: try request.date("from"), to: try request.date("to")))
    }
}
