import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertSLAPolicy(_ policy: SLAPolicy) async throws {
        let ladder = try StoredJSON.encode(policy.ladder)
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO sla_policies (id, name, deadline_seconds, ladder, escalation_partner_id, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        policy.id.rawValue, policy.name, policy.deadlineSeconds, ladder,
                        policy.escalationPartnerId?.rawValue, policy.createdAt.storedValue,
                    ])
            }
        }
    }

    public func slaPolicy(_ id: SLAPolicyID) async throws -> SLAPolicy? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM sla_policies WHERE id = ?", arguments: [id.rawValue])
                    .map(Self.policy(from:))
            }
        }
    }

    public func slaPolicies() async throws -> [SLAPolicy] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM sla_policies ORDER BY position").map(Self.policy(from:))
            }
        }
    }

    static func policy(from row: Row) throws -> SLAPolicy {
        SLAPolicy(
            id: SLAPolicyID(rawValue: row["id"]), name: row["name"], deadlineSeconds: row["deadline_seconds"],
            ladder: try StoredJSON.decode([SLAStep].self, row["ladder"]),
            escalationPartnerId: (row["escalation_partner_id"] as String?).map(PartnerID.init(rawValue:)),
            createdAt: Date(stored: row["created_at"]))
    }

    public func claimVerifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [VerificationClaim] {
        let statuses = Notice.verifiable.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        return try await guarded {
            try await write { db in
                // One statement: two instances never claim the same notice, and the claim bumps the fence.
                try Row.fetchAll(
                    db,
                    sql: """
                        UPDATE notices SET verify_due_at = ?, verify_claim = verify_claim + 1
                        WHERE id IN (
                            SELECT id FROM notices
                            WHERE verify_due_at IS NOT NULL AND verify_due_at <= ? AND status IN (\(statuses))
                            ORDER BY verify_due_at, position LIMIT ?)
                        RETURNING id, verify_claim
                        """,
                    arguments: [now.addingTimeInterval(lease).storedValue, now.storedValue, limit]
                ).map { VerificationClaim(noticeId: NoticeID(rawValue: $0["id"]), token: $0["verify_claim"]) }
            }
        }
    }

    public func extendVerificationClaim(_ claim: VerificationClaim, from current: Date, until: Date) async throws
        -> Bool
    {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE notices SET verify_due_at = ?
                        WHERE id = ? AND verify_claim = ? AND verify_due_at >= ?
                        """,
                    arguments: [
                        until.storedValue, claim.noticeId.rawValue, claim.token, current.storedValue - 0.001,
                    ])
                return db.changesCount > 0
            }
        }
    }

    public func completeVerification(
        _ claim: VerificationClaim, checks: [VerificationCheck], _ change: @Sendable (inout Notice) -> Void
    ) async throws -> Notice? {
        try await guarded {
            try await write { db in
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT * FROM notice_rows WHERE id = ? AND verify_claim = ?",
                        arguments: [claim.noticeId.rawValue, claim.token])
                else { return nil }
                var notice = try Self.notice(from: row, db)
                let known = notice.timeline.count
                for check in checks {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO verification_checks (notice_id, url, checked_at, http_status, outcome, error,
                                                             redirects, final_url)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                            """
                    ).execute(arguments: [
                        check.noticeId.rawValue, check.url, check.checkedAt.storedValue, check.httpStatus,
                        check.outcome.rawValue, check.error, check.redirects, check.finalUrl,
                    ])
                }
                change(&notice)
                try Self.write(notice, knownEvents: known, checked: true, db)
                return notice
            }
        }
    }

    public func verificationChecks(notice: NoticeID) async throws -> [VerificationCheck] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM verification_checks WHERE notice_id = ? ORDER BY id",
                    arguments: [notice.rawValue]
                ).map { row in
                    VerificationCheck(
                        noticeId: NoticeID(rawValue: row["notice_id"]), url: row["url"],
                        checkedAt: Date(stored: row["checked_at"]), httpStatus: row["http_status"],
                        outcome: VerificationOutcome(rawValue: row["outcome"]) ?? .inconclusive, error: row["error"],
                        redirects: row["redirects"], finalUrl: row["final_url"])
                }
            }
        }
    }
}
