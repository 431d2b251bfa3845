import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/sla-policies`: admins create named policies; staff read them. Policies never change once created.
struct SLAPoliciesController {
    let slaPolicyDesk: SLAPolicyDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("sla-policies", use: create)
        group.get("sla-policies", use: list)
        group.get("sla-policies/{sla_policy_id}", use: show)
    }

    /// A policy as the API shows it: every member present, `escalation_partner_id` null when unset.
    struct View: Encodable {
        var policy: SLAPolicy

        enum Keys: String, CodingKey {
            case id, name, deadlineSeconds, ladder, escalationPartnerId, `default`, createdAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(policy.id, forKey: .id)
            try container.encode(policy.name, forKey: .name)
            try container.encode(policy.deadlineSeconds, forKey: .deadlineSeconds)
            try container.encode(policy.ladder, forKey: .ladder)
            try container.encode(policy.escalationPartnerId, forKey: .escalationPartnerId)
            try container.encode(policy.isDefault, forKey: .default)
            try container.encode(policy.createdAt, forKey: .createdAt)
        }
    }

    struct Listing: Encodable {
        var policies: [View]
        var nextCursor: String
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<SLAPolicyInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        return try .json(View(policy: try await slaPolicyDesk.createSLAPolicy(body.value)), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let page = try request.page(of: try await slaPolicyDesk.slaPolicies())
        return try .json(Listing(policies: page.items.map(View.init), nextCursor: page.nextCursor))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        guard let text = context.parameters.get("sla_policy_id"), let id = SLAPolicyID.parsePolicy(text) else {
            throw APIError.notFound("no SLA policy with that id")
        }
        return try .json(View(policy: try await slaPolicyDesk.slaPolicy(id)))
    }
}
