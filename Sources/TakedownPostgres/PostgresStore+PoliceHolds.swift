import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    static let policeHoldSchema = [
        """
        CREATE TABLE police_holds (
            id text PRIMARY KEY,
            case_id text NOT NULL UNIQUE REFERENCES cases(id),
            police_partner_id text NOT NULL REFERENCES partners(id),
            status text NOT NULL,
            held_at double precision NOT NULL,
            ends_at double precision NOT NULL,
            escalated_at double precision,
            record text NOT NULL
        )
        """,
        "CREATE INDEX police_holds_partner ON police_holds(police_partner_id, held_at)",
        "CREATE INDEX police_holds_held_at ON police_holds(held_at)",
        "CREATE INDEX police_holds_open ON police_holds(ends_at) WHERE status = 'held'",
    ]

    public func insertHeldCase(_ record: Case, hold: PoliceHold, idempotency: IdempotencyRecord?) async throws
        -> IdempotencyRecord?
    {
        try await insertCase(record, notices: [], deliveries: [], hold: hold, idempotency: idempotency)
    }

    /// After its case: the hold names it.
    static func insert(_ hold: PoliceHold, stored: String, _ transaction: Transaction) async throws {
        try await transaction.run(
            """
            INSERT INTO police_holds (id, case_id, police_partner_id, status, held_at, ends_at, escalated_at, record)
            VALUES (\(hold.id.rawValue), \(hold.caseId.rawValue), \(hold.policePartnerId.rawValue),
                \(hold.status.rawValue), \(hold.heldAt.stored), \(hold.endsAt.stored), \(hold.escalatedAt?.stored),
                \(stored))
            """)
    }

    public func hold(_ id: HoldID) async throws -> PoliceHold? {
        try await rows("SELECT record FROM police_holds WHERE id = \(id.rawValue)").first.map(Self.hold(from:))
    }

    public func hold(ofCase id: CaseID) async throws -> PoliceHold? {
        try await rows("SELECT record FROM police_holds WHERE case_id = \(id.rawValue)").first.map(Self.hold(from:))
    }

    public func holds(_ query: HoldQuery) async throws -> [PoliceHold] {
        try await rows(query.listing.query).map(Self.hold(from:))
    }

    public func updateHeldHold(_ hold: PoliceHold) async throws -> Bool {
        let stored = try StoredJSON.encode(hold)
        return try await transaction { transaction in
            try await transaction.count(
                """
                UPDATE police_holds SET ends_at = \(hold.endsAt.stored), escalated_at = \(hold.escalatedAt?.stored),
                    record = \(stored)
                WHERE id = \(hold.id.rawValue) AND status = 'held' RETURNING 1
                """) == 1
        }
    }

    public func releaseHold(_ hold: PoliceHold, notices: [Notice], deliveries: [Delivery]) async throws {
        let stored = try StoredJSON.encode(hold)
        let encoded = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        try await transaction { transaction in
            let released = try await transaction.count(
                """
                UPDATE police_holds SET status = \(hold.status.rawValue), record = \(stored)
                WHERE id = \(hold.id.rawValue) AND status = 'held' RETURNING 1
                """)
            if released != 1 { throw StoreError.conflict("hold \(hold.id) is no longer held") }
            for (notice, items) in encoded {
                try await Self.insert(notice, items: items, transaction)
                for item in notice.items {
                    let routed = try await transaction.count(
                        """
                        UPDATE case_items SET notice_id = \(notice.id.rawValue)
                        WHERE case_id = \(hold.caseId.rawValue) AND url = \(item.url) AND notice_id IS NULL
                        RETURNING 1
                        """)
                    if routed != 1 { throw StoreError.conflict("item \(item.url) is already routed") }
                }
            }
            try await Self.insert(deliveries, transaction)
            try await Self.enterURLs(of: notices, caseID: hold.caseId, transaction)
            _ = try await Self.assignPositions("notices", ids: notices.map(\.id.rawValue), transaction)
        }
    }

    public func escalateOverdueHolds(at now: Date, limit: Int) async throws -> [PoliceHold] {
        try await transaction { transaction in
            // SKIP LOCKED: instances sweeping at once each take different holds, and none twice.
            let due = try await transaction.rows(
                """
                SELECT record FROM police_holds
                WHERE status = 'held' AND ends_at <= \(now.stored) AND escalated_at IS NULL
                ORDER BY ends_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            ).map(Self.hold(from:))
            var escalated: [PoliceHold] = []
            for var hold in due {
                hold.escalatedAt = now
                let stored = try StoredJSON.encode(hold)
                try await transaction.run(
                    """
                    UPDATE police_holds SET escalated_at = \(now.stored), record = \(stored)
                    WHERE id = \(hold.id.rawValue)
                    """)
                escalated.append(hold)
            }
            return escalated
        }
    }

    static func hold(from row: PostgresRandomAccessRow) throws -> PoliceHold {
        try StoredJSON.decode(PoliceHold.self, try row.get("record", as: String.self))
    }
}
