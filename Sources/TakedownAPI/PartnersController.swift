import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/partners`: admins manage partners; staff read them; a partner reads itself.
struct PartnersController {
    let gateway: Gateway
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("partners", use: create)
        group.get("partners", use: list)
        group.get("partners/{partner_id}", use: show)
        group.patch("partners/{partner_id}", use: update)
        group.post("partners/{partner_id}/tokens", use: createToken)
    }

    /// A partner with the one-time token it was created with.
    struct Created: Encodable {
        var partner: Partner
        var token: IssuedToken

        enum Keys: String, CodingKey { case token, tokenId }

        func encode(to encoder: any Encoder) throws {
            try partner.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(token.secret, forKey: .token)
            try container.encode(token.record.id, forKey: .tokenId)
        }
    }

    struct TokenCreated: Encodable {
        var id: TokenID
        var partnerId: PartnerID?
        var name: String
        var role: TokenRole
        var token: String
        var createdAt: Date

        init(_ issued: IssuedToken) {
            id = issued.record.id
            partnerId = issued.record.partnerID
            name = issued.record.name
            role = issued.record.role
            token = issued.secret
            createdAt = issued.record.createdAt
        }
    }

    struct TokenRequest: Decodable { var name: String? }

    struct Listing: Encodable { var partners: [Partner] }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<PartnerInput>.read(request, limit: settings.maxBodyBytes)
        let (partner, token) = try await gateway.createPartner(body.value)
        return try .json(Created(partner: partner, token: token), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try .json(Listing(partners: try await gateway.partners()))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        guard principal.isStaff || principal.partnerID == id else { throw APIError.notFound("partner \(id) does not exist") }
        return try .json(try await gateway.partner(id))
    }

    @Sendable func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let body = try await JSONBody<PartnerInput>.read(request, limit: settings.maxBodyBytes)
        return try .json(try await gateway.updatePartner(id, with: body.value))
    }

    @Sendable func createToken(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let body = try await JSONBody<TokenRequest>.read(request, limit: settings.maxBodyBytes, emptyAllowed: true)
        return try .json(TokenCreated(try await gateway.createPartnerToken(id, name: body.value.name)), status: .created)
    }
}
