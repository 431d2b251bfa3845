import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownStore

/// A provider's own pages: its notices (overdue first, then the newest), its scorecard, and its delivery
/// settings as the gateway holds them.
struct ConsoleProviderController {
    let noticeDesk: NoticeDesk
    let partnerDesk: PartnerDesk
    let deliveryDesk: DeliveryDesk
    let figureDesk: FigureDesk
    let pages: ConsolePages

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("inbox", use: inbox)
        group.get("scorecard", use: scorecard)
        group.get("settings", use: settings)
    }

    struct Inbox {
        var notices: [ConsoleStaffController.NoticeRow]
        var hasNotices: Bool
        var counts: NoticeCounts
        var pager: PagerView
    }

    @Sendable func inbox(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, partner) = try context.partner()
        let now = noticeDesk.now()
        let pager = try Pager(request, size: ConsoleStaffController.pageSize)
        // One more than a page, to know whether there is a next one.
        let notices = try await noticeDesk.noticeBoard(offset: pager.offset, limit: pager.size + 1, for: principal)
        let counts = try await noticeDesk.noticeCounts(issuedSince: [], for: principal)
        let name = try await partnerDesk.partner(partner).name
        let rows = notices.prefix(pager.size).map {
            ConsoleStaffController.row($0, names: [partner: name], now: now)
        }
        let content = Inbox(
            notices: rows, hasNotices: !rows.isEmpty, counts: counts,
            pager: pager.view(more: notices.count > pager.size))
        return try pages.page("inbox", title: "Notices", content, context: context)
    }

    @Sendable func scorecard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (_, id) = try context.partner()
        let partner = try await partnerDesk.partner(id)
        let card = try await ScorecardView.build(for: partner, figureDesk)
        return try pages.page(
            "scorecard", title: "Scorecard", ["name": partner.name, "scorecard": card], context: context)
    }

    @Sendable func settings(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (_, id) = try context.partner()
        let partner = try await partnerDesk.partner(id).ownView
        let endpoints = try await deliveryDesk.endpoints(partner: id)
        let content: [String: Any] = [
            "partner": ConsoleStaffController.describe(partner),
            "endpoints": endpoints.map(ConsoleStaffController.describe), "has_endpoints": !endpoints.isEmpty,
        ]
        return try pages.page("settings", title: "Settings", content, context: context)
    }
}
