import Foundation
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

extension DeliveryDesk {
    /// A new webhook secret for a partner, and until when the previous ones keep signing.
    public func rotateWebhookSecret(_ id: PartnerID) async throws -> (secret: String, previousValidUntil: Date) {
        let partner = try await gateway.partnerDesk.partner(id)
        guard partner.delivery.webhookUrl != nil else {
            throw GatewayError.conflict("partner \(id) has no webhook_url; set one first")
        }
        let secret = WebhookSignature.newSecret()
        let now = clock()
        let previousUntil = now.addingTimeInterval(configuration.webhookSecretOverlap)
        try await store.addWebhookSecret(partner: id, secret: secret, now: now, previousUntil: previousUntil)
        return (secret, previousUntil)
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryPage.Entry] {
        try await store.deliveries(query)
    }

    public func delivery(_ id: DeliveryID) async throws -> (Delivery, [DeliveryAttempt]) {
        guard let found = try await store.delivery(id) else { throw GatewayError.notFound("delivery \(id)") }
        return found
    }

    /// Sends a dead or failed delivery again now.
    public func retryDelivery(_ id: DeliveryID) async throws -> Delivery {
        if let delivery = try await store.retryDelivery(id, now: clock()) {
            onEnqueue()
            return delivery
        }
        let (delivery, _) = try await self.delivery(id)
        throw GatewayError.conflict(
            "delivery \(id) is \(delivery.state.rawValue); only failed or dead ones are retried")
    }

    /// Re-queues a partner's failed and dead deliveries created in a window.
    public func recoverDeliveries(partner id: PartnerID, since: Date, until: Date) async throws -> Int {
        _ = try await gateway.partnerDesk.partner(id)
        guard since < until else {
            throw GatewayError.invalid(ValidationError([FieldError(name: "until", reason: "must be after since")]))
        }
        let count = try await store.requeueDeliveries(partner: id, since: since, until: until, now: clock())
        if count > 0 { onEnqueue() }
        return count
    }

    /// Un-pauses a partner's endpoints (and re-enables those disabled by 410).
    public func resumeEndpoints(partner id: PartnerID) async throws -> Int {
        _ = try await gateway.partnerDesk.partner(id)
        let count = try await store.resumeEndpoints(partner: id, now: clock())
        onEnqueue()
        return count
    }

    public func endpoints(partner id: PartnerID?) async throws -> [EndpointState] {
        if let id { _ = try await gateway.partnerDesk.partner(id) }
        return try await store.endpointStates(partner: id)
    }
}

/// The core's part: what several use cases share.
extension Gateway {
    /// The outbox rows an event about `notice` needs: one per push channel of the recipient.
    /// Written in the same transaction as the change that caused them.
    func deliveries(
        for notice: Notice, to partner: Partner, type: String, at now: Date, reason: String? = nil, sequence: Int = 1
    ) throws -> [Delivery] {
        var deliveries: [Delivery] = []
        // A peer hotline's gateway takes the signed referral itself, once; what follows is its business.
        if partner.kind == .hotline, let peer = partner.delivery.gateway, type == WebhookEvent.issued {
            deliveries.append(
                Delivery(
                    noticeId: notice.id, partnerId: partner.id, channel: .referral,
                    endpoint: peer.baseUrl + "/v1/referrals", eventType: "referral", eventId: notice.id.rawValue,
                    payload: Data(notice.jws.utf8), nextAttemptAt: now, createdAt: now, updatedAt: now))
        }
        if let url = partner.delivery.webhookUrl {
            let eventID = WebhookEvent.newID()
            let body = try WebhookEvent.body(
                type: type, id: eventID, createdAt: now, notice: notice, sequence: sequence, reason: reason)
            deliveries.append(
                Delivery(
                    noticeId: notice.id, partnerId: partner.id, channel: .webhook, endpoint: url, eventType: type,
                    eventId: eventID, payload: body, nextAttemptAt: now, createdAt: now, updatedAt: now))
        }
        if let address = partner.delivery.email, let from = configuration.emailFrom {
            let id = DeliveryID.generate()
            let document = try noticeDesk.document(of: notice)
            var text =
                type == WebhookEvent.reminder
                ? templates.reminderText(
                    of: document, status: notice.status, sequence: sequence, language: document.language)
                : templates.text(of: document, status: notice.status, language: document.language)
            if let reason, type == WebhookEvent.withdrawn { text = "WITHDRAWN: \(reason)\n\n" + text }
            if let reason, type == WebhookEvent.disputeDecided {
                let outcome =
                    notice.status == .withdrawn
                    ? "Your dispute is accepted and the notice withdrawn."
                    : "Your dispute is not upheld: the notice stands, with a new deadline of \(Timestamp.format(notice.deadlineAt))."
                text = "DISPUTE DECIDED. \(outcome)\nReason: \(reason)\n\n" + text
            }
            let prefix: String
            switch type {
            case WebhookEvent.withdrawn: prefix = "Withdrawn takedown notice"
            case WebhookEvent.disputeDecided: prefix = "Dispute decided: takedown notice"
            case WebhookEvent.reminder: prefix = "Reminder \(sequence - 1): takedown notice"
            case WebhookEvent.escalated: prefix = "Escalation: unanswered takedown notice"
            default: prefix = "Takedown notice"
            }
            let message = EmailMessage.build(
                deliveryID: id, from: from, to: address, notice: notice, text: text,
                subject: "\(prefix) \(notice.id) (\(document.caseReference))", date: now,
                messageDomain: from.split(separator: "@").last.map(String.init) ?? "takedown.invalid")
            deliveries.append(
                Delivery(
                    id: id, noticeId: notice.id, partnerId: partner.id, channel: .email, endpoint: address,
                    eventType: type, eventId: "<\(id)@mail>", payload: message, nextAttemptAt: now, createdAt: now,
                    updatedAt: now))
        }
        return deliveries
    }
}
