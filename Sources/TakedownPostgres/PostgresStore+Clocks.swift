import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func insertSLAPolicy(_ policy: SLAPolicy) async throws {
        let ladder = try StoredJSON.encode(policy.ladder)
        try await transaction { transaction in
            try await transaction.run(
                """
                INSERT INTO sla_policies (id, name, deadline_seconds, ladder, escalation_partner_id, created_at)
                VALUES (\(policy.id.rawValue), \(policy.name), \(policy.deadlineSeconds), \(ladder),
                        \(policy.escalationPartnerId?.rawValue), \(policy.createdAt.stored))
                """)
        }
    }

    public func slaPolicy(_ id: SLAPolicyID) async throws -> SLAPolicy? {
        try await rows("SELECT * FROM sla_policies WHERE id = \(id.rawValue)").first.map(Self.policy(from:))
    }

    public func slaPolicies() async throws -> [SLAPolicy] {
        try await rows("SELECT * FROM sla_policies ORDER BY position").map(Self.policy(from:))
    }

    static func policy(from row: PostgresRandomAccessRow) throws -> SLAPolicy {
        SLAPolicy(
            id: SLAPolicyID(rawValue: try row.get("id")), name: try row.get("name"),
            deadlineSeconds: try row.get("deadline_seconds"),
            ladder: try StoredJSON.decode([SLAStep].self, try row.get("ladder")),
            escalationPartnerId: try row.get("escalation_partner_id", as: String?.self).map(PartnerID.init(rawValue:)),
            createdAt: try row.date("created_at"))
    }

    public func claimVerifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [VerificationClaim] {
        let statuses = Notice.verifiable.map(\.rawValue).sorted()
        return try await transaction { transaction in
            // SKIP LOCKED: instances claiming at once take different notices; the claim bumps the fence.
            try await transaction.rows(
                """
                UPDATE notices SET verify_due_at = \(now.addingTimeInterval(lease).stored),
                       verify_claim = verify_claim + 1
                WHERE id IN (
                    SELECT id FROM notices
                    WHERE verify_due_at IS NOT NULL AND verify_due_at <= \(now.stored) AND status = ANY(\(statuses))
                    ORDER BY verify_due_at, position LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id, verify_claim
                """
            ).map {
                VerificationClaim(noticeId: NoticeID(rawValue: try $0.get("id")), token: try $0.get("verify_claim"))
            }
        }
    }

    public func extendVerificationClaim(_ claim: VerificationClaim, from current: Date, until: Date) async throws
        -> Bool
    {
        try await transaction { transaction in
            try await transaction.count(
                """
                UPDATE notices SET verify_due_at = \(until.stored)
                WHERE id = \(claim.noticeId.rawValue) AND verify_claim = \(claim.token)
                      AND verify_due_at >= \(current.stored - 0.001)
                RETURNING 1
                """) > 0
        }
    }

    public func completeVerification(
        _ claim: VerificationClaim, checks: [VerificationCheck], _ change: @Sendable (inout Notice) -> Void
    ) async throws -> Notice? {
        try await transaction { transaction in
            let rows = try await transaction.rows(
                """
                SELECT * FROM notices WHERE id = \(claim.noticeId.rawValue) AND verify_claim = \(claim.token)
                FOR UPDATE
                """)
            guard var notice = try await Self.notices(from: rows, transaction).first else { return nil }
            let known = notice.timeline.count
            for check in checks {
                try await transaction.run(
                    """
                    INSERT INTO verification_checks (notice_id, url, checked_at, http_status, outcome, error, redirects,
                                                     final_url)
                    VALUES (\(check.noticeId.rawValue), \(check.url), \(check.checkedAt.stored), \(check.httpStatus),
                            \(check.outcome.rawValue), \(check.error), \(check.redirects), \(check.finalUrl))
                    """)
            }
            change(&notice)
            try await Self.write(notice, knownEvents: known, checked: true, transaction)
            return notice
        }
    }

    public func verificationChecks(notice: NoticeID) async throws -> [VerificationCheck] {
        try await rows("SELECT * FROM verification_checks WHERE notice_id = \(notice.rawValue) ORDER BY id").map {
            row in
            VerificationCheck(
                noticeId: NoticeID(rawValue: try row.get("notice_id")), url: try row.get("url"),
                checkedAt: try row.date("checked_at"), httpStatus: try row.get("http_status", as: Int?.self),
                outcome: VerificationOutcome(rawValue: try row.get("outcome")) ?? .inconclusive,
                error: try row.get("error", as: String?.self), redirects: try row.get("redirects"),
                finalUrl: try row.get("final_url"))
        }
    }
}
