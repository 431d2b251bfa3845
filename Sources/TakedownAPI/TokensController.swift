import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/tokens`: admins create and revoke staff tokens (and revoke partner tokens).
struct TokensController {
    let gateway: Gateway
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("tokens", use: create)
        group.delete("tokens/{token_id}", use: revoke)
    }

    struct CreateRequest: Decodable {
        var role: String?
        var name: String?
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<CreateRequest>.read(request, limit: settings.maxBodyBytes)
        var v = Validator()
        let role: TokenRole? = v.choice(body.value.role, "role")
        if role == .partner { v.fail("role", "partner tokens are made at /v1/partners/{id}/tokens") }
        let name = v.text(body.value.name, "name", max: 100)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let issued = try await gateway.createStaffToken(role: role!, name: name!)
        return try .json(PartnersController.TokenCreated(issued), status: .created)
    }

    @Sendable func revoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("token_id", as: TokenID.self)
        try await gateway.revokeToken(id)
        return Response(status: .noContent)
    }
}
