import Foundation
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

/// One signed test event for a webhook URL: what the gateway sends before it uses a new URL.
public struct WebhookProbe: Sendable {
    public var url: String
    public var eventId: String
    public var payload: Data
    /// The partner's signing secrets: the endpoint verifies with the one it already holds.
    public var secrets: [String]

    public struct Result: Sendable, Equatable {
        public var succeeded: Bool
        public var statusCode: Int?
        public var error: String?

        public init(succeeded: Bool, statusCode: Int? = nil, error: String? = nil) {
            self.succeeded = succeeded
            self.statusCode = statusCode
            self.error = error
        }
    }
}

/// What a provider does for itself with its own token: its tokens, its webhook secret, URL and contact.
extension PartnerDesk {
    public static let webhookTestEvent = "webhook.test"
    /// Active tokens a partner may hold at once; a leaked-token spree stops here.
    public static let partnerTokenLimit = 20

    /// Moves a partner's webhook to `url`, only after a signed `webhook.test` event to it is answered with a
    /// 2xx: it is signed with the partner's current secrets, so the endpoint at the new URL proves it holds
    /// them. Deliveries not yet sent follow the new URL; the secrets stay. A partner without a webhook gets
    /// its first from staff (409), since its endpoint would hold no secret to check the test with.
    public func changeWebhook(_ id: PartnerID, to url: String?) async throws -> (Partner, WebhookProbe.Result) {
        let current = try await partner(id)
        guard current.delivery.webhookUrl != nil else {
            throw GatewayError.conflict("partner \(id) has no webhook yet; the hotline sets the first one")
        }
        guard let probe = configuration.webhookProbe else {
            throw GatewayError.conflict("this gateway sends no webhook tests; ask the hotline to change the URL")
        }
        let now = clock()
        var v = Validator()
        _ = v.require(url, "webhook_url")
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let input = PartnerInput(delivery: .init(webhookUrl: url))
        let updated: Partner
        do {
            updated = try input.applied(to: current, at: now)
        } catch {
            // Named as the request names it: this body's member is `webhook_url`.
            throw GatewayError.invalid(
                ValidationError(
                    error.errors.map {
                        FieldError(name: $0.name == "delivery.webhook_url" ? "webhook_url" : $0.name, reason: $0.reason)
                    }))
        }
        guard let target = updated.delivery.webhookUrl, target != current.delivery.webhookUrl else {
            return (current, WebhookProbe.Result(succeeded: true))
        }
        let secrets = try await store.webhookSecrets(partner: id, now: now)
        let eventID = WebhookEvent.newID()
        let payload = try WireFormat.encoder().encode(
            TestEvent(
                createdAt: now, id: eventID, type: Self.webhookTestEvent,
                data: .init(partnerId: id, webhookUrl: target)))
        let result = await probe(WebhookProbe(url: target, eventId: eventID, payload: payload, secrets: secrets))
        guard result.succeeded else {
            let answer = result.statusCode.map { "HTTP \($0)" } ?? result.error ?? "no answer"
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(
                        name: "webhook_url",
                        reason: "the signed test event (\(Self.webhookTestEvent), \(eventID)) was not accepted: "
                            + String(answer.prefix(300)) + "; the webhook is unchanged")
                ]))
        }
        try await store.updatePartner(updated, webhookSecret: nil, check: Gateway.routingIsFree(for: updated))
        gateway.invalidateRouting()
        logger.info("webhook moved after a test event", metadata: ["partner_id": "\(id)", "event_id": "\(eventID)"])
        return (updated, result)
    }

    struct TestEvent: Encodable {
        struct Body: Encodable {
            var partnerId: PartnerID
            var webhookUrl: String
        }
        var createdAt: Date
        var id: String
        var type: String
        var data: Body
    }

    /// A partner's change to its own record: its `contact_email`, and nothing else (its webhook URL moves
    /// through `changeWebhook`, after a test event).
    public func updateOwnPartner(_ id: PartnerID, with input: PartnerInput) async throws -> Partner {
        let others: [(String, Bool)] = [
            ("name", input.name != nil), ("kind", input.kind != nil), ("locale", input.locale != nil),
            ("jurisdiction", input.jurisdiction != nil), ("routing", input.routing != nil),
            ("delivery", input.delivery != nil), ("sla_policy_id", input.slaPolicyId != nil),
        ]
        let refused = others.filter(\.1).map(\.0)
        guard refused.isEmpty else {
            throw GatewayError.forbidden(
                "a partner changes only its contact_email here, not " + refused.joined(separator: ", ")
                    + "; a webhook URL moves through POST /v1/partners/\(id)/webhook")
        }
        return try await updatePartner(id, with: input).0
    }

    /// A new token for a partner, by itself: as staff make them, up to `partnerTokenLimit` active at once.
    public func createOwnToken(_ id: PartnerID, name: String?, expiresAt: Date?) async throws -> IssuedToken {
        let now = clock()
        let active = try await store.tokens(after: 0, limit: 10_000, partner: id).filter {
            $0.token.principal(at: now) != nil
        }
        guard active.count < Self.partnerTokenLimit else {
            throw GatewayError.conflict(
                "partner \(id) holds \(active.count) active tokens, the most allowed; revoke one first")
        }
        return try await gateway.tokenDesk.createPartnerToken(id, name: name, expiresAt: expiresAt)
    }

    /// Revokes one of a partner's own tokens; another's is not found, and its last active token is kept
    /// (revoking it would lock the partner out: staff do that, by suspending it).
    public func revokeOwnToken(_ token: TokenID, of id: PartnerID) async throws {
        let now = clock()
        let mine = try await store.tokens(after: 0, limit: 10_000, partner: id).map(\.token)
        guard let record = mine.first(where: { $0.id == token }) else {
            throw GatewayError.notFound("token \(token)")
        }
        let others = mine.filter { $0.id != token && $0.principal(at: now) != nil }
        if record.principal(at: now) != nil, others.isEmpty {
            throw GatewayError.conflict("token \(token) is the partner's last active token; create another first")
        }
        try await gateway.tokenDesk.revokeToken(token)
    }
}
