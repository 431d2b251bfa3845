import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    /// Referrals received from peer hotlines. A delivery may now carry a referral's status update, so
    /// `deliveries.notice_id` names a notice or a referral and loses its foreign key (the table is rebuilt:
    /// SQLite cannot drop a constraint).
    static func registerReferrals(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10-referrals") { db in
            try db.execute(
                sql: """
                    CREATE TABLE referrals (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        sender_id TEXT REFERENCES partners(id),
                        remote_id TEXT,
                        state TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        jws TEXT,
                        document BLOB,
                        decided_at REAL,
                        decided_by TEXT,
                        reason TEXT,
                        case_id TEXT REFERENCES cases(id),
                        report_sequence INTEGER NOT NULL DEFAULT 0,
                        report_digest TEXT,
                        report_done INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE UNIQUE INDEX referrals_remote ON referrals(sender_id, remote_id) WHERE state <> 'refused';
                    CREATE INDEX referrals_to_report ON referrals(position)
                        WHERE state IN ('accepted', 'declined') AND report_done = 0;
                    CREATE TABLE deliveries_new (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        notice_id TEXT NOT NULL,
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        channel TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        lease_token INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires_at REAL,
                        last_error TEXT,
                        last_status INTEGER,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    INSERT INTO deliveries_new SELECT position, id, notice_id, partner_id, channel, endpoint, event_type,
                        event_id, payload, state, attempts, next_attempt_at, lease_token, lease_owner, lease_expires_at,
                        last_error, last_status, created_at, updated_at FROM deliveries;
                    DROP TABLE deliveries;
                    ALTER TABLE deliveries_new RENAME TO deliveries;
                    CREATE INDEX deliveries_due ON deliveries(next_attempt_at, position) WHERE state IN ('pending', 'failed');
                    CREATE INDEX deliveries_in_flight ON deliveries(partner_id, channel, endpoint) WHERE state = 'in_flight';
                    CREATE INDEX deliveries_notice ON deliveries(notice_id);
                    CREATE INDEX deliveries_partner ON deliveries(partner_id, created_at);
                    """)
        }
    }

    public func insertReferral(_ referral: Referral) async throws -> (referral: Referral, inserted: Bool) {
        try await guarded {
            try await write { db in
                if referral.state != .refused, let sender = referral.senderId, let remote = referral.remoteId,
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT * FROM referrals WHERE sender_id = ? AND remote_id = ? AND state <> 'refused'",
                        arguments: [sender.rawValue, remote])
                {
                    return (Self.referral(from: row), false)
                }
                try db.execute(
                    sql: """
                        INSERT INTO referrals (id, sender_id, remote_id, state, received_at, jws, document, reason)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        referral.id.rawValue, referral.senderId?.rawValue, referral.remoteId, referral.state.rawValue,
                        referral.receivedAt.storedValue, referral.jws, referral.document, referral.reason,
                    ])
                var stored = referral
                stored.position = db.lastInsertedRowID
                try Self.log(.referral(stored), db: db)
                return (stored, true)
            }
        }
    }

    public func referral(_ id: ReferralID) async throws -> Referral? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM referrals WHERE id = ?", arguments: [id.rawValue])
                    .map(Self.referral(from:))
            }
        }
    }

    public func referrals(_ query: ReferralQuery) async throws -> [Referral] {
        let listing = query.listing
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).map(Self.referral(from:))
            }
        }
    }

    public func acceptReferral(
        _ id: ReferralID, case record: Case, notices: [Notice], deliveries: [Delivery], by actor: String, at now: Date
    ) async throws -> Referral {
        let encodedNotices = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        return try await guarded {
            try await write { db in
                // The case first: the decision names it. A referral decided meanwhile rolls both back.
                try Self.writeCase(record, notices: encodedNotices, deliveries: deliveries, db)
                try Self.decide(id, state: .accepted, reason: nil, caseId: record.id, by: actor, at: now, db)
                return try Self.referral(id, db)
            }
        }
    }

    public func declineReferral(_ id: ReferralID, reason: String, by actor: String, at now: Date) async throws
        -> Referral
    {
        try await guarded {
            try await write { db in
                try Self.decide(id, state: .declined, reason: reason, caseId: nil, by: actor, at: now, db)
                return try Self.referral(id, db)
            }
        }
    }

    public func referralsToReport(after position: Int64, limit: Int) async throws -> [Referral] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM referrals
                        WHERE state IN ('accepted', 'declined') AND report_done = 0 AND position > ?
                        ORDER BY position LIMIT ?
                        """, arguments: [position, limit]
                ).map(Self.referral(from:))
            }
        }
    }

    public func recordReferralReport(
        _ id: ReferralID, after sequence: Int, digest: String, done: Bool, delivery: Delivery?
    ) async throws -> Bool {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE referrals SET report_sequence = ?, report_digest = ?, report_done = ?
                        WHERE id = ? AND report_sequence = ?
                        """,
                    arguments: [
                        delivery == nil ? sequence : sequence + 1, digest, done, id.rawValue, sequence,
                    ])
                guard db.changesCount == 1 else { return false }
                if let delivery { try Self.insert(delivery, db) }
                return true
            }
        }
    }

    /// Moves a received referral to its decision; `conflict` when it is decided already, `notFound` when
    /// there is none.
    static func decide(
        _ id: ReferralID, state: ReferralState, reason: String?, caseId: CaseID?, by actor: String, at now: Date,
        _ db: Database
    ) throws {
        try db.execute(
            sql: """
                UPDATE referrals SET state = ?, reason = ?, case_id = ?, decided_by = ?, decided_at = ?
                WHERE id = ? AND state = 'received'
                """,
            arguments: [state.rawValue, reason, caseId?.rawValue, actor, now.storedValue, id.rawValue])
        guard db.changesCount == 1 else {
            let current = try String.fetchOne(
                db, sql: "SELECT state FROM referrals WHERE id = ?", arguments: [id.rawValue])
            guard let current else { throw StoreError.notFound }
            throw StoreError.conflict("referral \(id) is \(current), not received")
        }
        try log(.referral(referral(id, db)), db: db)
    }

    static func referral(_ id: ReferralID, _ db: Database) throws -> Referral {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM referrals WHERE id = ?", arguments: [id.rawValue])
        else { throw StoreError.notFound }
        return referral(from: row)
    }

    static func referral(from row: Row) -> Referral {
        Referral(
            id: ReferralID(rawValue: row["id"]), position: row["position"],
            senderId: (row["sender_id"] as String?).map(PartnerID.init(rawValue:)), remoteId: row["remote_id"],
            state: ReferralState(rawValue: row["state"]) ?? .refused,
            receivedAt: Date(stored: row["received_at"]), jws: row["jws"], document: row["document"],
            decidedAt: (row["decided_at"] as Double?).map(Date.init(stored:)), decidedBy: row["decided_by"],
            reason: row["reason"], caseId: (row["case_id"] as String?).map(CaseID.init(rawValue:)),
            report: .init(sequence: row["report_sequence"], digest: row["report_digest"], done: row["report_done"]))
    }
}
