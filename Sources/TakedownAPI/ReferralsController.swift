import Foundation
import Hummingbird
import TakedownDocuments
import TakedownModel
import TakedownService
import TakedownStore

/// Referrals between hotlines. Peers post signed referrals (`POST /v1/referrals`) and status updates
/// (`POST /v1/referral-updates`) without a token: the JWS under the sender's pinned keys is the
/// authentication. Staff list both directions and accept or decline what came in.
struct ReferralsController {
    let referralDesk: ReferralDesk
    let settings: APISettings

    /// The routes peers call, outside the token check.
    func registerPeerRoutes(on group: RouterGroup<GatewayRequestContext>) {
        group.post("referrals", use: receive)
        group.post("referral-updates", use: receiveUpdate)
    }

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("referrals", use: list)
        group.get("referrals/{referral_id}", use: show)
        group.post("referrals/{referral_id}/accept", use: accept)
        group.post("referrals/{referral_id}/decline", use: decline)
        group.post("partners/{partner_id}/gateway/keys", use: refreshKeys)
    }

    /// An incoming referral as staff see it: the signed document decoded beside what became of it.
    struct IncomingView: Encodable {
        var id: ReferralID
        var direction = "in"
        var senderId: PartnerID?
        var remoteId: String?
        var state: ReferralState
        var receivedAt: Date
        var decidedAt: Date?
        var decidedBy: String?
        var reason: String?
        var caseId: CaseID?
        var updatesSent: Int
        var document: NoticeDocument?
        var jws: String?

        init(_ referral: Referral, full: Bool) {
            id = referral.id
            senderId = referral.senderId
            remoteId = referral.remoteId
            state = referral.state
            receivedAt = referral.receivedAt
            decidedAt = referral.decidedAt
            decidedBy = referral.decidedBy
            reason = referral.reason
            caseId = referral.caseId
            updatesSent = referral.report.sequence
            document = referral.document.flatMap { try? NoticeDocument.decode($0) }
            jws = full ? referral.jws : nil
        }
    }

    /// A referral we sent: the notice that carried it, and what the peer last said.
    struct OutgoingView: Encodable {
        var id: NoticeID
        var direction = "out"
        var peerId: PartnerID
        var status: NoticeStatus
        /// The peer's last reported status; `sent` before its first update.
        var remoteStatus: String
        var issuedAt: Date
        var acknowledgedAt: Date?
        var removedAt: Date?
        var items: [NoticeItem]
        /// The peer's updates, oldest first.
        var updates: [TimelineEvent]

        init(_ notice: Notice) {
            id = notice.id
            peerId = notice.partnerId
            status = notice.status
            remoteStatus = notice.referralStatus ?? "sent"
            issuedAt = notice.issuedAt
            acknowledgedAt = notice.acknowledgedAt
            removedAt = notice.removedAt
            items = notice.items
            updates = notice.timeline.filter { $0.event.hasPrefix(Notice.referralEventPrefix) }
        }
    }

    struct Listing<Entry: Encodable>: Encodable {
        var referrals: [Entry]
        var nextCursor: String
    }

    struct Received: Encodable {
        var id: ReferralID
        var state: ReferralState
    }

    @Sendable func receive(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await fromPeer(request, context) { body in
            let (referral, created) = try await referralDesk.receiveReferral(body)
            return try .json(Received(id: referral.id, state: referral.state), status: created ? .created : .ok)
        }
    }

    /// Reads a peer's signed message and handles it; a refusal costs the sender's address as a failed token
    /// would.
    func fromPeer(
        _ request: Request, _ context: GatewayRequestContext, _ handle: (Data) async throws -> Response
    ) async throws -> Response {
        let body = try await BodyReader.collect(request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        do {
            return try await handle(Data(buffer: body))
        } catch {
            _ = try RateLimitMiddleware.charge(anonymous: context.clientAddress, settings)
            throw error
        }
    }

    struct UpdateReceipt: Encodable {
        var referral: NoticeID
        var remoteStatus: String
    }

    @Sendable func receiveUpdate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await fromPeer(request, context) { body in
            let notice = try await referralDesk.receiveReferralUpdate(body)
            return try .json(UpdateReceipt(referral: notice.id, remoteStatus: notice.referralStatus ?? "sent"))
        }
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let limit = try request.limit(default: 100, max: 500)
        let after = try request.cursorPosition()
        let peer = try request.query("partner_id").map { text -> PartnerID in
            guard let id = PartnerID.parse(text) else {
                throw APIError.badParameter("partner_id", "is not a partner id")
            }
            return id
        }
        switch request.query("direction") ?? "in" {
        case "in":
            var query = ReferralQuery(after: after, limit: limit, sender: peer)
            if let status = request.query("status") {
                guard let state = ReferralState(rawValue: status) else {
                    throw APIError.badParameter(
                        "status", "must be one of \(ReferralState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                query.state = state
            }
            let page = try await referralDesk.incomingReferrals(query)
            return try .json(
                Listing(
                    referrals: page.map { IncomingView($0, full: false) },
                    nextCursor: Cursor.encode(page.last?.position ?? after)))
        case "out":
            let status = try request.query("status").map { text -> NoticeStatus in
                guard let status = NoticeStatus(rawValue: text) else {
                    throw APIError.badParameter(
                        "status", "must be one of \(NoticeStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            let page = try await referralDesk.outgoingReferrals(after: after, limit: limit, peer: peer, status: status)
            return try .json(
                Listing(referrals: page.referrals.map(OutgoingView.init), nextCursor: Cursor.encode(page.next)))
        default:
            throw APIError.badParameter("direction", "must be in or out")
        }
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("referral_id", as: ReferralID.self)
        return try .json(IncomingView(try await referralDesk.referral(id), full: true))
    }

    @Sendable func accept(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.parameters.id("referral_id", as: ReferralID.self)
        return try .json(IncomingView(try await referralDesk.acceptReferral(id, actor: principal.actor), full: false))
    }

    struct DeclineRequest: Decodable {
        var reason: String?
    }

    @Sendable func decline(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.parameters.id("referral_id", as: ReferralID.self)
        let body = try await JSONBody<DeclineRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        guard let reason = body.value.reason else {
            throw APIError.badRequest("reason is required", fields: [FieldError(name: "reason", reason: "is required")])
        }
        return try .json(
            IncomingView(
                try await referralDesk.declineReferral(id, reason: reason, actor: principal.actor), full: false))
    }

    @Sendable func refreshKeys(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.admin()
        let id = try context.parameters.id("partner_id", as: PartnerID.self)
        return try .json(try await referralDesk.refreshPeerKeys(id))
    }
}
