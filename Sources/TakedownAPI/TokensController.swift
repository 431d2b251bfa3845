import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/tokens`: admins list, create and revoke staff tokens (and list and revoke partner tokens).
struct TokensController {
    let tokenDesk: TokenDesk
    let partnerDesk: PartnerDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("tokens", use: list)
        group.post("tokens", use: create)
        group.delete("tokens/{token_id}", use: revoke)
    }

    struct CreateRequest: Decodable {
        var role: String?
        var name: String?
        var expiresAt: Date?
    }

    /// A token as an admin sees it in a listing: never its secret, nor the secret's hash.
    struct Listed: Encodable {
        var id: TokenID
        var name: String
        var role: TokenRole
        var partnerId: PartnerID?
        var createdAt: Date
        var lastUsedAt: Date?
        var expiresAt: Date?
        var revokedAt: Date?

        init(_ record: TokenRecord) {
            id = record.id
            name = record.name
            role = record.role
            partnerId = record.partnerID
            createdAt = record.createdAt
            lastUsedAt = record.lastUsedAt
            expiresAt = record.expiresAt
            revokedAt = record.revokedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, name, role, partnerId, createdAt, lastUsedAt, expiresAt, revokedAt
        }

        /// Every member present, `null` when unset, so a listing reads the same for every token.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(role, forKey: .role)
            try container.encode(partnerId, forKey: .partnerId)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(lastUsedAt, forKey: .lastUsedAt)
            try container.encode(expiresAt, forKey: .expiresAt)
            try container.encode(revokedAt, forKey: .revokedAt)
        }
    }

    struct Listing: Encodable {
        var tokens: [Listed]
        var nextCursor: String
    }

    /// Admins list every token; a partner lists its own (a `partner_id` naming another is not found).
    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        if case .analyst = principal { throw APIError.forbidden("this needs an admin token or a partner's own") }
        let limit = try request.limit(default: 100, max: 1_000)
        var partner: PartnerID?
        if let text = request.query("partner_id") {
            guard let id = PartnerID.parse(text) else {
                throw APIError.badParameter("partner_id", "must be a partner id (ptn_…)")
            }
            partner = id
        }
        if let own = principal.partnerID {
            if let partner, partner != own { throw APIError.notFound("partner \(partner) does not exist") }
            partner = own
        }
        let (tokens, next) = try await tokenDesk.tokens(after: request.query("after"), limit: limit, partner: partner)
        return try .json(Listing(tokens: tokens.map(Listed.init), nextCursor: next))
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<CreateRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        var v = Validator()
        let role: TokenRole? = v.choice(body.value.role, "role")
        if role == .partner { v.fail("role", "partner tokens are made at /v1/partners/{id}/tokens") }
        let name = v.text(body.value.name, "name", max: 100)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let issued = try await tokenDesk.createStaffToken(role: role!, name: name!, expiresAt: body.value.expiresAt)
        return try .json(TokenCreated(issued), status: .created)
    }

    /// Admins revoke any token; a partner its own, but not its last active one.
    @Sendable func revoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("token_id", as: TokenID.self)
        switch principal {
        case .admin: try await tokenDesk.revokeToken(id)
        case .partner(_, let own): try await partnerDesk.revokeOwnToken(id, of: own)
        case .analyst: throw APIError.forbidden("this needs an admin token or a partner's own")
        }
        return Response(status: .noContent)
    }
}
