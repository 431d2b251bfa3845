import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `GET /v1/notices/{id}/verifications`: staff see every check of a notice's URLs (never any content).
struct VerificationsController {
    let slaPolicyDesk: SLAPolicyDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("notices/{notice_id}/verifications", use: list)
    }

    struct Listing: Encodable {
        var noticeId: NoticeID
        var status: NoticeStatus
        var verifiedAt: Date?
        var nextCheckAt: Date?
        var checks: [Check]
        var nextCursor: String

        enum CodingKeys: String, CodingKey { case noticeId, status, verifiedAt, nextCheckAt, checks, nextCursor }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(noticeId, forKey: .noticeId)
            try container.encode(status, forKey: .status)
            try container.encode(verifiedAt, forKey: .verifiedAt)
            try container.encode(nextCheckAt, forKey: .nextCheckAt)
            try container.encode(checks, forKey: .checks)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    /// One check with every member present (`http_status` and `error` null when there was none).
    struct Check: Encodable {
        var check: VerificationCheck

        enum CodingKeys: String, CodingKey { case url, checkedAt, httpStatus, outcome, error, redirects, finalUrl }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(check.url, forKey: .url)
            try container.encode(check.checkedAt, forKey: .checkedAt)
            try container.encode(check.httpStatus, forKey: .httpStatus)
            try container.encode(check.outcome, forKey: .outcome)
            try container.encode(check.error, forKey: .error)
            try container.encode(check.redirects, forKey: .redirects)
            try container.encode(check.finalUrl, forKey: .finalUrl)
        }
    }

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let id = try context.parameters.id("notice_id", as: NoticeID.self)
        let (notice, checks) = try await slaPolicyDesk.verifications(of: id)
        let page = try request.page(of: checks)
        return try .json(
            Listing(
                noticeId: notice.id, status: notice.status, verifiedAt: notice.verifiedAt,
                nextCheckAt: notice.verifyDueAt, checks: page.items.map(Check.init), nextCursor: page.nextCursor))
    }
}
