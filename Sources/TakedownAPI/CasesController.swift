import Foundation
import HTTPTypes
import Hummingbird
import TakedownModel
import TakedownService
import TakedownStore

/// `/v1/cases`: analysts submit confirmed cases and follow them.
struct CasesController {
    let caseDesk: CaseDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.post("cases", use: create)
        group.get("cases", use: list)
        group.get("cases/{case_id}", use: show)
        group.post("cases/{case_id}/route", use: route)
        group.post("cases/{case_id}/proposals/accept", use: acceptProposal)
    }

    struct Listing: Encodable {
        var cases: [Case]
        var nextCursor: String
    }

    struct ProposalRequest: Decodable {
        var url: String?
        var partnerId: String?
    }

    struct ProposalAccepted: Encodable {
        var partner: Partner
        /// The new provider's first API token, shown once; omitted when an existing provider got the route.
        var partnerToken: String?
        var noticeId: NoticeID
    }

    @Sendable func acceptProposal(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.parameters.id("case_id", as: CaseID.self)
        let body = try await JSONBody<ProposalRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        var v = Validator()
        let url = v.require(body.value.url, "url")
        let partner = v.id(body.value.partnerId, "partner_id", as: PartnerID.self)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let accepted = try await caseDesk.acceptProposal(of: id, url: url!, partner: partner, by: principal)
        return try .json(
            ProposalAccepted(partner: accepted.partner, partnerToken: accepted.token, noticeId: accepted.notice.id),
            status: .created)
    }

    struct RouteRequest: Decodable {
        var url: String?
        var urls: [String]?
        var partnerId: String?
    }

    @Sendable func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let body = try await JSONBody<CaseSubmission>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        let key = try request.headers[.idempotencyKey].map { key in
            guard !key.isEmpty, key.count <= 255 else {
                throw APIError.badRequest("Idempotency-Key must be 1 to 255 characters")
            }
            // Hash the decoded request re-encoded with sorted keys, so whitespace or key order in a retry
            // does not count as a different request.
            return IdempotencyKey(key: key, body: try WireFormat.encoder().encode(body.value))
        }
        let receipt = try await caseDesk.submitCase(body.value, by: principal, idempotency: key)
        return try .json(receipt, status: .created)
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        var query = CaseQuery(limit: try request.limit(default: 50, max: 500))
        query.after = try request.cursorPosition()
        query.reference = request.query("reference")
        query.createdFrom = try request.date("created_from")
        query.createdTo = try request.date("created_to")
        if let unrouted = request.query("unrouted") {
            guard let flag = Bool(unrouted) else { throw APIError.badParameter("unrouted", "must be true or false") }
            query.unroutedOnly = flag
        }
        let page = try await caseDesk.cases(query)
        return try .json(Listing(cases: page.cases, nextCursor: page.nextCursor))
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try .json(try await caseDesk.caseRecord(try context.parameters.id("case_id", as: CaseID.self)))
    }

    @Sendable func route(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.parameters.id("case_id", as: CaseID.self)
        let body = try await JSONBody<RouteRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        var v = Validator()
        let urls = body.value.urls ?? body.value.url.map { [$0] } ?? []
        if urls.isEmpty { v.fail("url", "is required") }
        let partner = v.id(v.require(body.value.partnerId, "partner_id"), "partner_id", as: PartnerID.self)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let notice = try await caseDesk.routeItems(of: id, urls: urls, to: partner!, by: principal)
        return .bytes(
            try NoticeView(notice, for: principal, now: caseDesk.now()).json(), type: "application/json",
            status: .created)
    }

}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
