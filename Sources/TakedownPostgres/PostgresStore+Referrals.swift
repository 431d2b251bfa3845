import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// Referrals received from peer hotlines. A delivery may now carry a referral's status update, so
    /// `deliveries.notice_id` names a notice or a referral and loses its foreign key.
    static let referralSchema = [
        """
        CREATE TABLE referrals (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            sender_id text REFERENCES partners(id),
            remote_id text,
            state text NOT NULL,
            received_at double precision NOT NULL,
            jws text,
            document bytea,
            decided_at double precision,
            decided_by text,
            reason text,
            case_id text REFERENCES cases(id),
            report_sequence bigint NOT NULL DEFAULT 0,
            report_digest text,
            report_done boolean NOT NULL DEFAULT false
        )
        """,
        "CREATE UNIQUE INDEX referrals_remote ON referrals(sender_id, remote_id) WHERE state <> 'refused'",
        """
        CREATE INDEX referrals_to_report ON referrals(position)
            WHERE state IN ('accepted', 'declined') AND NOT report_done
        """,
        "ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_notice_id_fkey",
    ]

    public func insertReferral(_ referral: Referral) async throws -> (referral: Referral, inserted: Bool) {
        try await transaction { transaction in
            if referral.state != .refused, let sender = referral.senderId, let remote = referral.remoteId {
                // One receipt per (sender, remote id): two arriving at once wait here for each other.
                try await transaction.run(
                    "SELECT pg_advisory_xact_lock(hashtext(\(sender.rawValue)), hashtext(\(remote)))")
                if let row = try await transaction.rows(
                    """
                    SELECT * FROM referrals
                    WHERE sender_id = \(sender.rawValue) AND remote_id = \(remote) AND state <> 'refused'
                    """
                ).first {
                    return (try Self.referral(from: row), false)
                }
            }
            let rows = try await transaction.rows(
                """
                INSERT INTO referrals (id, sender_id, remote_id, state, received_at, jws, document, reason)
                VALUES (\(referral.id.rawValue), \(referral.senderId?.rawValue), \(referral.remoteId),
                        \(referral.state.rawValue), \(referral.receivedAt.stored), \(referral.jws), \(referral.document),
                        \(referral.reason))
                RETURNING position
                """)
            var stored = referral
            stored.position = try rows.first?.get("position", as: Int64.self) ?? 0
            try await Self.log([.referral(stored)], transaction)
            return (stored, true)
        }
    }

    public func referral(_ id: ReferralID) async throws -> Referral? {
        try await rows("SELECT * FROM referrals WHERE id = \(id.rawValue)").first.map(Self.referral(from:))
    }

    public func referrals(_ query: ReferralQuery) async throws -> [Referral] {
        try await rows(query.listing.query).map(Self.referral(from:))
    }

    public func acceptReferral(
        _ id: ReferralID, case record: Case, notices: [Notice], deliveries: [Delivery], by actor: String, at now: Date
    ) async throws -> Referral {
        let encodedNotices = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        return try await transaction { transaction in
            // The case first: the decision names it. A second accept at once waits on the referral's row,
            // then finds it decided and rolls its case back.
            try await Self.writeCase(record, notices: encodedNotices, deliveries: deliveries, transaction)
            try await Self.decide(id, state: .accepted, reason: nil, caseId: record.id, by: actor, at: now, transaction)
            return try await Self.referral(id, transaction)
        }
    }

    public func declineReferral(_ id: ReferralID, reason: String, by actor: String, at now: Date) async throws
        -> Referral
    {
        try await transaction { transaction in
            try await Self.decide(id, state: .declined, reason: reason, caseId: nil, by: actor, at: now, transaction)
            return try await Self.referral(id, transaction)
        }
    }

    public func referralsToReport(after position: Int64, limit: Int) async throws -> [Referral] {
        try await rows(
            """
            SELECT * FROM referrals
            WHERE state IN ('accepted', 'declined') AND NOT report_done AND position > \(position)
            ORDER BY position LIMIT \(limit)
            """
        ).map(Self.referral(from:))
    }

    public func recordReferralReport(
        _ id: ReferralID, after sequence: Int, digest: String, done: Bool, delivery: Delivery?
    ) async throws -> Bool {
        try await transaction { transaction in
            let next = delivery == nil ? sequence : sequence + 1
            let moved = try await transaction.count(
                """
                UPDATE referrals SET report_sequence = \(next), report_digest = \(digest), report_done = \(done)
                WHERE id = \(id.rawValue) AND report_sequence = \(sequence)
                RETURNING 1
                """)
            guard moved == 1 else { return false }
            if let delivery { try await Self.insert([delivery], transaction) }
            return true
        }
    }

    /// Moves a received referral to its decision; `conflict` when it is decided already, `notFound` when
    /// there is none.
    static func decide(
        _ id: ReferralID, state: ReferralState, reason: String?, caseId: CaseID?, by actor: String, at now: Date,
        _ transaction: Transaction
    ) async throws {
        let moved = try await transaction.count(
            """
            UPDATE referrals SET state = \(state.rawValue), reason = \(reason), case_id = \(caseId?.rawValue),
                   decided_by = \(actor), decided_at = \(now.stored)
            WHERE id = \(id.rawValue) AND state = 'received'
            RETURNING 1
            """)
        guard moved == 1 else {
            let rows = try await transaction.rows("SELECT state FROM referrals WHERE id = \(id.rawValue)")
            guard let current = try rows.first?.get("state", as: String.self) else { throw StoreError.notFound }
            throw StoreError.conflict("referral \(id) is \(current), not received")
        }
        try await log([.referral(referral(id, transaction))], transaction)
    }

    static func referral(_ id: ReferralID, _ transaction: Transaction) async throws -> Referral {
        guard let row = try await transaction.rows("SELECT * FROM referrals WHERE id = \(id.rawValue)").first else {
            throw StoreError.notFound
        }
        return try referral(from: row)
    }

    static func referral(from row: PostgresRandomAccessRow) throws -> Referral {
        Referral(
            id: ReferralID(rawValue: try row.get("id")), position: try row.get("position"),
            senderId: try row.get("sender_id", as: String?.self).map(PartnerID.init(rawValue:)),
            remoteId: try row.get("remote_id"),
            state: ReferralState(rawValue: try row.get("state")) ?? .refused, receivedAt: try row.date("received_at"),
            jws: try row.get("jws"), document: try row.get("document"), decidedAt: try row.optionalDate("decided_at"),
            decidedBy: try row.get("decided_by"), reason: try row.get("reason"),
            caseId: try row.get("case_id", as: String?.self).map(CaseID.init(rawValue:)),
            report: .init(
                sequence: Int(try row.get("report_sequence", as: Int64.self)), digest: try row.get("report_digest"),
                done: try row.get("report_done")))
    }
}
