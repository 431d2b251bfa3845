import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/v1/partners`: admins manage partners; staff read them; a partner reads itself.
struct PartnersController {
    let partnerDesk: PartnerDesk
    let tokenDesk: TokenDesk
    let deliveryDesk: DeliveryDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("partners", use: create)
        group.get("partners", use: list)
        group.get("partners/{partner_id}", use: show)
        group.patch("partners/{partner_id}", use: update)
        group.post("partners/{partner_id}/tokens", use: createToken)
        group.post("partners/{partner_id}/webhook-secret", use: rotateSecret)
        group.post("partners/{partner_id}/webhook", use: changeWebhook)
    }

    struct WebhookChange: Decodable {
        var webhookUrl: String?
    }

    struct WebhookChanged: Encodable {
        var partner: Partner
        var testStatus: Int?

        enum Keys: String, CodingKey { case testStatus }

        func encode(to encoder: any Encoder) throws {
            try partner.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(testStatus, forKey: .testStatus)
        }
    }

    /// A partner with the secrets shown once: its first token, its new webhook secret.
    struct WithSecrets: Encodable {
        var partner: Partner
        var token: IssuedToken?
        var webhookSecret: String?

        enum Keys: String, CodingKey { case token, tokenId, webhookSecret }

        func encode(to encoder: any Encoder) throws {
            try partner.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(token?.secret, forKey: .token)
            try container.encodeIfPresent(token?.record.id, forKey: .tokenId)
            try container.encodeIfPresent(webhookSecret, forKey: .webhookSecret)
        }
    }

    struct SecretRotated: Encodable {
        var partnerId: PartnerID
        var webhookSecret: String
        var previousValidUntil: Date
    }

    struct TokenRequest: Decodable {
        var name: String?
        var expiresAt: Date?
    }

    struct Listing: Encodable {
        var partners: [Partner]
        var nextCursor: String
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let body = try await JSONBody<PartnerInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let (partner, token, secret) = try await partnerDesk.createPartner(body.value)
        return try .json(WithSecrets(partner: partner, token: token, webhookSecret: secret), status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let page = try request.page(of: try await partnerDesk.partners())
        return try .json(Listing(partners: Array(page.items), nextCursor: page.nextCursor))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        guard principal.isStaff || principal.partnerID == id else {
            throw APIError.notFound("partner \(id) does not exist")
        }
        let partner = try await partnerDesk.partner(id)
        return try .json(principal.isStaff ? partner : partner.ownView)
    }

    /// Admins change any field; a partner changes its own `contact_email` (its webhook URL moves through
    /// `POST /v1/partners/{id}/webhook`, after a test event).
    @Sendable func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let principal = try context.adminOrSelf(id)
        let body = try await JSONBody<PartnerInput>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let (partner, secret) =
            principal.isStaff
            ? try await partnerDesk.updatePartner(id, with: body.value)
            : (try await partnerDesk.updateOwnPartner(id, with: body.value), nil)
        return try .json(WithSecrets(partner: principal.isStaff ? partner : partner.ownView, webhookSecret: secret))
    }

    /// Moves the webhook to a new URL once a signed test event to it is accepted (an admin, or the partner).
    @Sendable func changeWebhook(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let principal = try context.adminOrSelf(id)
        let body = try await JSONBody<WebhookChange>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let (partner, result) = try await partnerDesk.changeWebhook(id, to: body.value.webhookUrl)
        return try .json(
            WebhookChanged(partner: principal.isStaff ? partner : partner.ownView, testStatus: result.statusCode))
    }

    /// A new webhook secret; the old one keeps signing beside it for the overlap.
    @Sendable func rotateSecret(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        _ = try context.adminOrSelf(id)
        let (secret, previousUntil) = try await deliveryDesk.rotateWebhookSecret(id)
        return try .json(
            SecretRotated(partnerId: id, webhookSecret: secret, previousValidUntil: previousUntil),
            status: .created)
    }

    @Sendable func createToken(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let principal = try context.adminOrSelf(id)
        let body = try await JSONBody<TokenRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout, emptyAllowed: true)
        let issued =
            principal.isStaff
            ? try await tokenDesk.createPartnerToken(id, name: body.value.name, expiresAt: body.value.expiresAt)
            : try await partnerDesk.createOwnToken(id, name: body.value.name, expiresAt: body.value.expiresAt)
        return try .json(TokenCreated(issued), status: .created)
    }
}
