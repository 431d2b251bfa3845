import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownStore

/// Operators follow the outbox: deliveries with their attempts, retries, recovery and endpoint health.
struct DeliveriesController {
    let deliveryDesk: DeliveryDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("deliveries", use: list)
        group.get("deliveries/{delivery_id}", use: show)
        group.post("deliveries/{delivery_id}/retry", use: retry)
        group.get("partners/{partner_id}/endpoints", use: endpoints)
        group.post("partners/{partner_id}/endpoints/recover", use: recover)
        group.post("partners/{partner_id}/endpoints/resume", use: resume)
    }

    /// A delivery without its body (the notice is at `/v1/notices/{id}`).
    struct DeliveryView: Encodable {
        var id: DeliveryID
        var noticeId: NoticeID
        var partnerId: PartnerID
        var channel: DeliveryChannel
        var endpoint: String
        var eventType: String
        var eventId: String
        var state: DeliveryState
        var attempts: Int
        var nextAttemptAt: Date
        var lastError: String?
        var lastStatus: Int?
        var createdAt: Date
        var updatedAt: Date
        var attemptLog: [DeliveryAttempt]?

        init(_ delivery: Delivery, attempts log: [DeliveryAttempt]? = nil) {
            id = delivery.id
            noticeId = delivery.noticeId
            partnerId = delivery.partnerId
            channel = delivery.channel
            endpoint = delivery.endpoint
            eventType = delivery.eventType
            eventId = delivery.eventId
            state = delivery.state
            attempts = delivery.attempts
            nextAttemptAt = delivery.nextAttemptAt
            lastError = delivery.lastError
            lastStatus = delivery.lastStatus
            createdAt = delivery.createdAt
            updatedAt = delivery.updatedAt
            attemptLog = log
        }

        enum CodingKeys: String, CodingKey {
            case id, noticeId, partnerId, channel, endpoint, eventType, eventId, state, attempts, nextAttemptAt
            case lastError, lastStatus, createdAt, updatedAt
            case attemptLog = "attempt_log"
        }
    }

    struct Listing: Encodable {
        var deliveries: [DeliveryView]
        var nextCursor: String
    }

    struct Endpoints: Encodable {
        var endpoints: [EndpointState]
        var nextCursor: String
    }

    struct WindowRequest: Decodable {
        var since: Date?
        var until: Date?
    }

    struct Count: Encodable { var requeued: Int }
    struct Resumed: Encodable { var resumed: Int }

    /// Staff see every delivery; a partner its own (a `partner_id` naming another is not found).
    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        var query = DeliveryQuery(limit: try request.limit(default: 100, max: 500))
        if let text = request.query("notice_id") {
            guard let id = NoticeID.parse(text) else { throw APIError.badParameter("notice_id", "is not a notice id") }
            query.notice = id
        }
        if let text = request.query("partner_id") {
            guard let id = PartnerID.parse(text) else {
                throw APIError.badParameter("partner_id", "is not a partner id")
            }
            query.partner = id
        }
        if let text = request.query("state") {
            guard let state = DeliveryState(rawValue: text) else {
                throw APIError.badParameter(
                    "state", "must be one of: " + DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            query.state = state
        }
        if let own = principal.partnerID {
            if let asked = query.partner, asked != own { throw APIError.notFound("partner \(asked) does not exist") }
            query.partner = own
        }
        query.after = try request.cursorPosition()
        let page = try await deliveryDesk.deliveries(query)
        return try .json(
            Listing(
                deliveries: page.map { DeliveryView($0.delivery) },
                nextCursor: Cursor.encode(page.last?.position ?? query.after)))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("delivery_id", as: DeliveryID.self)
        let (delivery, attempts) = try await deliveryDesk.delivery(id)
        guard principal.isStaff || principal.partnerID == delivery.partnerId else {
            throw APIError.notFound("delivery \(id) does not exist")
        }
        return try .json(DeliveryView(delivery, attempts: attempts))
    }

    @Sendable func retry(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let delivery = try await deliveryDesk.retryDelivery(
            try context.parameters.id("delivery_id", as: DeliveryID.self))
        return try .json(DeliveryView(delivery))
    }

    @Sendable func endpoints(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        _ = try context.staffOrSelf(id)
        let page = try request.page(of: try await deliveryDesk.endpoints(partner: id))
        return try .json(Endpoints(endpoints: Array(page.items), nextCursor: page.nextCursor))
    }

    @Sendable func recover(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let body = try await JSONBody<WindowRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        var v = Validator()
        let since = v.require(body.since, "since")
        let until = v.require(body.until, "until")
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        return try .json(
            Count(requeued: try await deliveryDesk.recoverDeliveries(partner: id, since: since!, until: until!)))
    }

    @Sendable func resume(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        return try .json(Resumed(resumed: try await deliveryDesk.resumeEndpoints(partner: id)))
    }
}
