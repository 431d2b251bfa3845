import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownStore

/// The analysts' dashboard and partner pages.
struct ConsoleStaffController {
    let noticeDesk: NoticeDesk
    let partnerDesk: PartnerDesk
    let deliveryDesk: DeliveryDesk
    let holdDesk: HoldDesk
    let referralDesk: ReferralDesk
    let figureDesk: FigureDesk
    let pages: ConsolePages

    /// Open notices on one page of the dashboard.
    static let pageSize = 50

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("dashboard", use: dashboard)
        group.get("partners", use: partners)
        group.get("partners/{partner_id}", use: partner)
        group.post("partners/{partner_id}/resume", use: resume)
        group.post("partners/{partner_id}/recover", use: recover)
    }

    struct NoticeRow {
        var id: String
        var partner: String
        var status: String
        var urls: Int
        var issued: TimeView
        var clock: ClockView
    }

    struct Dashboard {
        var counts: NoticeCounts
        var today: Int
        var week: Int
        var notices: [NoticeRow]
        var hasNotices: Bool
        var pager: PagerView
        var paused: [[String: String]]
        var dead: [[String: String]]
        var referrals: [[String: String]]
        var holds: [[String: String]]
    }

    @Sendable func dashboard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let now = noticeDesk.now()
        let pager = try Pager(request, size: Self.pageSize)
        let day = Calendar.utc.startOfDay(for: now)
        let week = Calendar.utc.dateInterval(of: .weekOfYear, for: now)?.start ?? day
        let counts = try await noticeDesk.noticeCounts(issuedSince: [day, week], for: principal)
        // One more than a page, to know whether there is a next one.
        let open = try await noticeDesk.noticeBoard(offset: pager.offset, limit: pager.size + 1, for: principal)
        let names = try await partnerNames()
        let rows = open.prefix(pager.size).map { Self.row($0, names: names, now: now) }
        let paused = try await deliveryDesk.endpoints(partner: nil).filter {
            $0.pausedAt != nil || $0.disabledAt != nil
        }
        let dead = try await deliveryDesk.deliveries(DeliveryQuery(state: .dead, limit: 20))
        let waiting = try await referralDesk.incomingReferrals(ReferralQuery(limit: 20, state: .received))
        let held = try await holdDesk.holds(status: .held, limit: 50, for: principal)
        let content = Dashboard(
            counts: counts, today: counts.issuedSince[0], week: counts.issuedSince[1], notices: rows,
            hasNotices: !rows.isEmpty, pager: pager.view(more: open.count > pager.size, total: counts.open),
            paused: paused.map {
                [
                    "partner_id": $0.partnerId.rawValue, "partner": names[$0.partnerId] ?? $0.partnerId.rawValue,
                    "channel": $0.channel.rawValue, "endpoint": $0.endpoint,
                    "state": $0.disabledAt != nil ? "disabled" : "paused",
                ]
            },
            dead: dead.map {
                [
                    "id": $0.delivery.id.rawValue, "notice_id": $0.delivery.noticeId.rawValue,
                    "partner": names[$0.delivery.partnerId] ?? $0.delivery.partnerId.rawValue,
                    "error": $0.delivery.lastError ?? "",
                ]
            },
            referrals: waiting.map {
                [
                    "id": $0.id.rawValue, "sender": $0.senderId.map { names[$0] ?? $0.rawValue } ?? "",
                    "received": TimeView($0.receivedAt).utc,
                ]
            },
            // Overdue first: a hold past its end is escalated here, to staff.
            holds: held.sorted {
                ($0.isOverdue(at: now) ? 0 : 1, $0.endsAt) < ($1.isOverdue(at: now) ? 0 : 1, $1.endsAt)
            }
            .map {
                [
                    "id": $0.id.rawValue, "case_id": $0.caseId.rawValue,
                    "police": names[$0.policePartnerId] ?? $0.policePartnerId.rawValue,
                    "ends": TimeView($0.endsAt).utc, "state": $0.isOverdue(at: now) ? "overdue" : "held",
                ]
            })
        return try pages.page("dashboard", title: "Dashboard", content, context: context)
    }

    static func row(_ notice: Notice, names: [PartnerID: String], now: Date) -> NoticeRow {
        NoticeRow(
            id: notice.id.rawValue, partner: names[notice.partnerId] ?? notice.partnerId.rawValue,
            status: notice.status.rawValue, urls: notice.items.count, issued: TimeView(notice.issuedAt),
            clock: ClockView(deadline: notice.deadlineAt, now: now))
    }

    func partnerNames() async throws -> [PartnerID: String] {
        Dictionary(try await partnerDesk.partners().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    @Sendable func partners(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let endpoints = try await deliveryDesk.endpoints(partner: nil)
        let rows = try await partnerDesk.partners().sorted { $0.name < $1.name }.map { partner in
            [
                "id": partner.id.rawValue, "name": partner.name,
                "kind": partner.kind.rawValue.replacingOccurrences(
                    of: "_", with: " "),
                "jurisdiction": partner.jurisdiction, "status": partner.status.rawValue,
                "domains": partner.routing.domains.prefix(3).joined(separator: ", "),
                "paused": endpoints.contains { $0.partnerId == partner.id && $0.pausedAt != nil } ? "paused" : "",
            ]
        }
        return try pages.page("partners", title: "Partners", ["partners": rows], context: context)
    }

    @Sendable func partner(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let partner = try await partnerDesk.partner(id)
        let endpoints = try await deliveryDesk.endpoints(partner: id)
        let card = try await ScorecardView.build(for: partner, figureDesk)
        let content: [String: Any] = [
            "partner": Self.describe(partner),
            "endpoints": endpoints.map(Self.describe), "has_endpoints": !endpoints.isEmpty,
            "scorecard": card,
        ]
        return try pages.page(
            "partner", title: partner.name, content, context: context, flash: request.query("done").map(Self.done))
    }

    @Sendable func resume(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        _ = try await deliveryDesk.resumeEndpoints(partner: id)
        return ConsolePages.redirect("/console/partners/\(id)?done=resumed")
    }

    /// Sends again a partner's failed and dead deliveries created in a window (UTC, as the form says).
    @Sendable func recover(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        let form = try context.consoleForm()
        var v = Validator()
        let since = form["since"].flatMap(ConsoleCaseController.Draft.parse)
        let until = form["until"].flatMap(ConsoleCaseController.Draft.parse)
        if since == nil { v.fail("since", "must be a date and time such as 2026-12-03T09:30") }
        if until == nil { v.fail("until", "must be a date and time such as 2026-12-03T18:00") }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let count = try await deliveryDesk.recoverDeliveries(partner: id, since: since!, until: until!)
        return ConsolePages.redirect("/console/partners/\(id)?done=recovered-\(count)")
    }

    static func done(_ what: String) -> String {
        if what.hasPrefix("recovered-"), let count = Int(what.dropFirst("recovered-".count)) {
            return count == 0
                ? "No failed or dead delivery was created in that window."
                : "\(count) deliveries are queued to go out again."
        }
        return what == "resumed" ? "Its paused endpoints are resumed; waiting deliveries go out now." : "Done."
    }

    /// A partner's facts; an empty one is left out, so the page says "none" (an empty string is not falsy
    /// to Mustache).
    static func describe(_ partner: Partner) -> [String: Any] {
        func given(_ text: String?) -> String? { text?.isEmpty == false ? text : nil }
        return present([
            "id": partner.id.rawValue, "name": partner.name,
            "kind": partner.kind.rawValue.replacingOccurrences(of: "_", with: " "),
            "contact_email": partner.contactEmail, "locale": partner.locale, "jurisdiction": partner.jurisdiction,
            "status": partner.status.rawValue, "suspension_reason": given(partner.suspensionReason),
            "domains": partner.routing.domains, "ip_ranges": partner.routing.ipRanges,
            "asns": partner.routing.asns.map(String.init), "countries": partner.routing.countries,
            "webhook": given(partner.delivery.webhookUrl), "email": given(partner.delivery.email),
            "peer_gateway": given(partner.delivery.gateway?.baseUrl),
        ])
    }

    static func describe(_ endpoint: EndpointState) -> [String: String] {
        [
            "channel": endpoint.channel.rawValue, "endpoint": endpoint.endpoint,
            "state": endpoint.disabledAt != nil ? "disabled" : endpoint.pausedAt != nil ? "paused" : "healthy",
            "failing_since": endpoint.failingSince.map { TimeView($0).utc } ?? "–",
            "last_success": endpoint.lastSuccessAt.map { TimeView($0).utc } ?? "never",
        ]
    }
}

/// Which page of a listing, from `?page=N` (1-based).
struct Pager {
    var number: Int
    var size: Int

    init(_ request: Request, size: Int) throws {
        self.size = size
        if let text = request.uri.queryParameters.get("page") {
            guard let number = Int(text), (1...10_000).contains(number) else {
                throw APIError.badParameter("page", "must be a page number from 1 to 10000")
            }
            self.number = number
        } else {
            number = 1
        }
    }

    var offset: Int { (number - 1) * size }

    func view(more: Bool, total: Int? = nil) -> PagerView {
        PagerView(number: number, previous: number > 1 ? number - 1 : nil, next: more ? number + 1 : nil, total: total)
    }
}

/// A pager as templates see it (stored properties only: templates read values by reflection).
struct PagerView {
    var number: Int
    var previous: Int?
    var next: Int?
    var total: Int?
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
