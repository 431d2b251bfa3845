import Foundation
import Hummingbird
import TakedownDocuments
import TakedownModel
import TakedownService

/// Removal figures: time to acknowledgement and to removal, and the share removed within 24 h, 72 h, 7 days.
struct StatsController {
    let figureDesk: FigureDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("stats/removal", use: report)
        group.get("stats/removal/notices", use: rows)
        group.get("partners/{partner_id}/scorecard", use: scorecard)
        group.get("reports/trusted-flagger", use: trustedFlaggerReport)
    }

    @Sendable func report(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        var grouping: RemovalGrouping?
        if let text = request.query("group_by") {
            guard let value = RemovalGrouping(rawValue: text) else {
                throw APIError.badParameter(
                    "group_by", "must be one of: " + RemovalGrouping.allCases.map(\.rawValue).joined(separator: ", "))
            }
            grouping = value
        }
        let report = try await figureDesk.removalReport(
            from: try request.date("from"), to: try request.date("to"), groupBy: grouping)
        return try .json(report)
    }

    /// The per-notice rows behind the figures, as CSV: one row per notice, so it counts as a heavy request.
    @Sendable func rows(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let slot = try settings.heavySlot(for: principal)
        defer { slot.release() }
        var partner: PartnerID?
        if let text = request.query("partner_id") {
            guard let id = PartnerID.parse(text) else {
                throw APIError.badParameter("partner_id", "is not a partner id")
            }
            partner = id
        }
        let rows = try await figureDesk.removalRows(
            from: try request.date("from"), to: try request.date("to"), partner: partner)
        var response = Response.bytes(Array(RemovalCSV.render(rows).utf8), type: "text/csv; charset=utf-8")
        response.headers[.contentDisposition] = "attachment; filename=\"removal-notices.csv\""
        return response
    }

    /// One provider's figures; a provider may read its own.
    @Sendable func scorecard(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        guard principal.isStaff || principal.partnerID == id else {
            throw APIError.notFound("partner \(id) does not exist")
        }
        return try .json(try await figureDesk.scorecard(id))
    }

    /// The Art. 22 DSA report for a period (by default the last calendar year, UTC), as JSON or, with
    /// `format=csv`, as CSV; staff only.
    @Sendable func trustedFlaggerReport(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let format = request.query("format") ?? "json"
        guard format == "json" || format == "csv" else { throw APIError.badParameter("format", "must be json or csv") }
        let report = try await figureDesk.trustedFlaggerReport(
            from: try request.date("from"), to: try request.date("to"))
        guard format == "csv" else { return try .json(report) }
        var response = Response.bytes(Array(report.csv().utf8), type: "text/csv; charset=utf-8")
        response.headers[.contentDisposition] = "attachment; filename=\"dsa-article-22.csv\""
        return response
    }
}
