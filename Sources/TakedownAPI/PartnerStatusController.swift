import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/partners/{id}/suspend` and `/reactivate`: admins hold a partner (its tokens stop working, its
/// pushes wait, its notices stay) and let it go again.
struct PartnerStatusController {
    let partnerDesk: PartnerDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("partners/{partner_id}/suspend", use: suspend)
        group.post("partners/{partner_id}/reactivate", use: reactivate)
    }

    struct SuspendRequest: Decodable {
        var reason: String?
    }

    @Sendable func suspend(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let body = try await JSONBody<SuspendRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        return try .json(try await partnerDesk.suspendPartner(id, reason: body.value.reason))
    }

    @Sendable func reactivate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        return try .json(try await partnerDesk.reactivatePartner(id))
    }
}
