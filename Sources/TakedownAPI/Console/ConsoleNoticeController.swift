import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownSigning
import TakedownStore

/// A notice's page, for staff (timeline, deliveries, checks, withdraw) and for its provider (the text in
/// its language, the answers); another provider's notice is not found, as in the API.
struct ConsoleNoticeController {
    let noticeDesk: NoticeDesk
    let partnerDesk: PartnerDesk
    let deliveryDesk: DeliveryDesk
    let slaPolicyDesk: SLAPolicyDesk
    let pages: ConsolePages

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("notices/{notice_id}", use: show)
        group.get("notices/{notice_id}/jws", use: jws)
        group.post("notices/{notice_id}/acknowledge", use: acknowledge)
        group.post("notices/{notice_id}/removal", use: removal)
        group.post("notices/{notice_id}/unable", use: unable)
        group.post("notices/{notice_id}/dispute", use: dispute)
        group.post("notices/{notice_id}/withdraw", use: withdraw)
        group.post("notices/{notice_id}/decide", use: decide)
        group.post("notices/{notice_id}/appeal", use: appeal)
        group.post("deliveries/{delivery_id}/retry", use: retry)
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: principal)
        return try await page(notice, principal: principal, context: context, errors: [:], flash: flash(request))
    }

    private func flash(_ request: Request) -> String? {
        switch request.uri.queryParameters.get("done") {
        case "acknowledge": "Acknowledged. The hotline sees it now."
        case "removal": "Removal reported. The hotline will check the URLs."
        case "unable": "Sent: the hotline knows you cannot act."
        case "dispute": "Dispute sent. Hotline staff will review it."
        case "withdraw": "The notice is withdrawn and its provider told."
        case "decide": "Decided. The provider is told, with your reason."
        case "appeal": "Appeal sent. A member of the hotline's staff other than the one who decided will review it."
        case "retry": "The delivery is queued to go out again now."
        default: nil
        }
    }

    private func page(
        _ notice: Notice, principal: Principal, context: GatewayRequestContext, errors: [String: String],
        flash: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let now = noticeDesk.now()
        let partner = try await partnerDesk.partner(notice.partnerId)
        let signature = signatureStatus(notice)
        var content: [String: Any] = [
            "id": notice.id.rawValue, "status": notice.status.rawValue, "partner": partner.name,
            "partner_id": partner.id.rawValue, "case_id": notice.caseId.rawValue, "staff": principal.isStaff,
            "issuer": noticeDesk.issuerOrganisation, "issued": TimeView(notice.issuedAt),
            "deadline": present([
                "at": TimeView(notice.deadlineAt),
                "open": notice.status.isOpen ? ClockView(deadline: notice.deadlineAt, now: now) : nil,
            ]),
            "open": notice.status.isOpen,
            "can_acknowledge": notice.accepts(.acknowledge, at: now, actor: principal.actor),
            "signature": signature.text, "signature_ok": signature.ok,
            "items": notice.items.enumerated().map { index, item in
                present([
                    "index": index, "url": item.url, "removed": item.removedAt.map(TimeView.init),
                    "action": item.action?.rawValue ?? "", "verified": item.verifiedAt.map(TimeView.init),
                ])
            },
            "errors": errors,
        ]
        content["disputed"] = notice.status == .disputed
        content["appealed"] = notice.isAppealed
        if let upheld = notice.lastEvent("dispute_upheld") { content["upheld_by"] = upheld.actor }
        // Offered only where the state machine would take them.
        content["can_appeal"] = notice.accepts(.appeal(reason: "-"), at: now, actor: principal.actor)
        content["can_dispute"] = notice.accepts(.dispute(reason: "-"), at: now, actor: principal.actor)
        content["decisions"] = notice.disputeDecisions.map {
            [
                "event": $0.event.replacingOccurrences(of: "_", with: " "), "reason": $0.detail ?? "",
                "at": TimeView($0.at),
            ] as [String: Any]
        }
        if let at = notice.acknowledgedAt { content["acknowledged"] = TimeView(at) }
        if let at = notice.removedAt { content["removed"] = TimeView(at) }
        guard principal.isStaff else {
            let language = noticeDesk.language(for: partner.locale)
            content["language"] = language
            content["text"] = try noticeDesk.text(of: notice, language: language)
            return try pages.page(
                "notice-provider", title: "Notice \(notice.id)", content, context: context, flash: flash,
                status: status)
        }
        content["text"] = try noticeDesk.text(of: notice, language: "en")
        content["timeline"] = notice.timeline.map {
            present(["at": TimeView($0.at), "event": $0.event, "actor": $0.actor, "detail": $0.detail])
        }
        var deliveries: [[String: Any]] = []
        for entry in try await deliveryDesk.deliveries(DeliveryQuery(notice: notice.id, limit: 50)) {
            let (delivery, attempts) = try await deliveryDesk.delivery(entry.delivery.id)
            deliveries.append(
                present([
                    "id": delivery.id.rawValue, "channel": delivery.channel.rawValue, "endpoint": delivery.endpoint,
                    "state": delivery.state.rawValue, "event": delivery.eventType, "attempt_count": delivery.attempts,
                    "error": delivery.lastError, "retryable": [.failed, .dead].contains(delivery.state),
                    "attempts": attempts.suffix(10).map {
                        present([
                            "at": TimeView($0.at), "status": $0.statusCode, "error": $0.error, "latency": $0.latencyMs,
                        ])
                    },
                ]))
        }
        content["deliveries"] = deliveries
        content["checks"] = try await slaPolicyDesk.verifications(of: notice.id).1.suffix(20).map {
            ["at": TimeView($0.checkedAt), "url": $0.url, "outcome": $0.outcome.rawValue] as [String: Any]
        }
        return try pages.page(
            "notice", title: "Notice \(notice.id)", content, context: context, flash: flash, status: status)
    }

    /// Whether the stored JWS verifies against the keys the gateway publishes, and with which key.
    private func signatureStatus(_ notice: Notice) -> (text: String, ok: Bool) {
        do {
            let (header, payload) = try JWS.verify(notice.jws, keys: noticeDesk.jwks)
            guard payload == notice.document else {
                return ("the signed payload differs from the stored notice", false)
            }
            return ("valid Ed25519 signature, key \(header.kid), as published at /.well-known/jwks.json", true)
        } catch {
            return ("does not verify against the published keys (\(error))", false)
        }
    }

    @Sendable func jws(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: try context.caller())
        var response = Response.bytes(Array(notice.jws.utf8), type: "application/jose")
        response.headers[.contentDisposition] = "attachment; filename=\"\(notice.id).jws\""
        return response
    }

    @Sendable func acknowledge(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await answer(.acknowledge, "acknowledge", context)
    }

    @Sendable func removal(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        let form = try context.consoleForm()
        let action = RemovalAction(rawValue: form["action"] ?? "removed") ?? .removed
        let urls = form.all("urls")
        guard !urls.isEmpty else {
            return try await refuse(["removal": "Tick at least one URL."], context)
        }
        return try await answer(.removal(action: action, removedAt: nil, urls: urls), "removal", context)
    }

    @Sendable func unable(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await reasoned("unable", "Say why you cannot act", context) { .unable(reason: $0) }
    }

    @Sendable func dispute(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await reasoned("dispute", "Say why the notice is wrong", context) { .dispute(reason: $0) }
    }

    @Sendable func withdraw(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        guard let reason = try reason(context) else {
            throw GatewayError.invalid(ValidationError([FieldError(name: "reason", reason: "is required")]))
        }
        return try await answer(.withdraw(reason: reason), "withdraw", context)
    }

    @Sendable func decide(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let form = try context.consoleForm()
        guard let decision = form["decision"], ["uphold", "accept"].contains(decision) else {
            return try await refuse(["decide": "Choose to uphold the notice or accept the dispute."], context)
        }
        guard let reason = try reason(context) else {
            return try await refuse(
                ["decide": "Give the reason the provider will read, in at most 2,000 characters."], context)
        }
        return try await answer(.decideDispute(uphold: decision == "uphold", reason: reason), "decide", context)
    }

    @Sendable func appeal(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await reasoned("appeal", "Say why the decision is wrong", context) { .appeal(reason: $0) }
    }

    /// An answer that carries the form's reason; without one, the page again with `ask` beside the form.
    private func reasoned(
        _ kind: String, _ ask: String, _ context: GatewayRequestContext, _ make: (String) -> NoticeAnswer
    ) async throws -> Response {
        guard let reason = try reason(context) else {
            return try await refuse([kind: ask + ", in at most 2,000 characters."], context)
        }
        return try await answer(make(reason), kind, context)
    }

    @Sendable func retry(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let delivery = try await deliveryDesk.retryDelivery(
            try context.parameters.id("delivery_id", as: DeliveryID.self))
        return ConsolePages.redirect("/console/notices/\(delivery.noticeId)?done=retry")
    }

    private func reason(_ context: GatewayRequestContext) throws -> String? {
        guard let reason = try context.consoleForm()["reason"], reason.count <= 2000 else { return nil }
        return reason
    }

    private func answer(_ answer: NoticeAnswer, _ done: String, _ context: GatewayRequestContext) async throws
        -> Response
    {
        let id = try context.parameters.id("notice_id", as: NoticeID.self)
        _ = try await noticeDesk.answer(id, answer, by: try context.caller())
        return ConsolePages.redirect("/console/notices/\(id)?done=\(done)")
    }

    /// The notice page again, with a sentence beside the form at fault.
    private func refuse(_ errors: [String: String], _ context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: principal)
        return try await page(
            notice, principal: principal, context: context, errors: errors, flash: nil, status: .unprocessableContent)
    }
}
