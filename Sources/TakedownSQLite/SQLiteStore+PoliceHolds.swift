import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    static func registerPoliceHolds(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12-police-holds") { db in
            try db.execute(
                sql: """
                    CREATE TABLE police_holds (
                        id TEXT PRIMARY KEY,
                        case_id TEXT NOT NULL UNIQUE REFERENCES cases(id),
                        police_partner_id TEXT NOT NULL REFERENCES partners(id),
                        status TEXT NOT NULL,
                        held_at REAL NOT NULL,
                        ends_at REAL NOT NULL,
                        escalated_at REAL,
                        record TEXT NOT NULL
                    );
                    CREATE INDEX police_holds_partner ON police_holds(police_partner_id, held_at);
                    CREATE INDEX police_holds_held_at ON police_holds(held_at);
                    CREATE INDEX police_holds_open ON police_holds(ends_at) WHERE status = 'held';
                    """)
        }
    }

    public func insertHeldCase(_ record: Case, hold: PoliceHold, idempotency: IdempotencyRecord?) async throws
        -> IdempotencyRecord?
    {
        try await insertCase(record, notices: [], deliveries: [], hold: hold, idempotency: idempotency)
    }

    static func insert(_ hold: PoliceHold, stored: String, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO police_holds (id, case_id, police_partner_id, status, held_at, ends_at, escalated_at, record)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                hold.id.rawValue, hold.caseId.rawValue, hold.policePartnerId.rawValue, hold.status.rawValue,
                hold.heldAt.storedValue, hold.endsAt.storedValue, hold.escalatedAt?.storedValue, stored,
            ])
    }

    public func hold(_ id: HoldID) async throws -> PoliceHold? {
        try await guarded {
            try await pool.read { db in
                try Self.hold(
                    Row.fetchOne(db, sql: "SELECT record FROM police_holds WHERE id = ?", arguments: [id.rawValue]))
            }
        }
    }

    public func hold(ofCase id: CaseID) async throws -> PoliceHold? {
        try await guarded {
            try await pool.read { db in
                try Self.hold(
                    Row.fetchOne(db, sql: "SELECT record FROM police_holds WHERE case_id = ?", arguments: [id.rawValue])
                )
            }
        }
    }

    public func holds(_ query: HoldQuery) async throws -> [PoliceHold] {
        let listing = query.listing
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).compactMap { try Self.hold($0) }
            }
        }
    }

    public func updateHeldHold(_ hold: PoliceHold) async throws -> Bool {
        let stored = try StoredJSON.encode(hold)
        return try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        UPDATE police_holds SET ends_at = ?, escalated_at = ?, record = ?
                        WHERE id = ? AND status = 'held'
                        """,
                    arguments: [hold.endsAt.storedValue, hold.escalatedAt?.storedValue, stored, hold.id.rawValue])
                return db.changesCount == 1
            }
        }
    }

    public func releaseHold(_ hold: PoliceHold, notices: [Notice], deliveries: [Delivery]) async throws {
        let stored = try StoredJSON.encode(hold)
        let encoded = try notices.map { ($0, try StoredJSON.encode($0.items)) }
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: "UPDATE police_holds SET status = ?, record = ? WHERE id = ? AND status = 'held'",
                    arguments: [hold.status.rawValue, stored, hold.id.rawValue])
                if db.changesCount != 1 { throw StoreError.conflict("hold \(hold.id) is no longer held") }
                for (notice, items) in encoded {
                    _ = try Self.insert(notice, items: items, db)
                    for item in notice.items {
                        try db.execute(
                            sql:
                                "UPDATE case_items SET notice_id = ? WHERE case_id = ? AND url = ? AND notice_id IS NULL",
                            arguments: [notice.id.rawValue, hold.caseId.rawValue, item.url])
                        if db.changesCount != 1 { throw StoreError.conflict("item \(item.url) is already routed") }
                    }
                }
                for delivery in deliveries { try Self.insert(delivery, db) }
            }
        }
    }

    public func escalateOverdueHolds(at now: Date, limit: Int) async throws -> [PoliceHold] {
        try await guarded {
            try await write { db in
                let due = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record FROM police_holds
                        WHERE status = 'held' AND ends_at <= ? AND escalated_at IS NULL
                        ORDER BY ends_at LIMIT ?
                        """,
                    arguments: [now.storedValue, limit]
                ).compactMap { try Self.hold($0) }
                return try due.map { hold in
                    var escalated = hold
                    escalated.escalatedAt = now
                    try db.execute(
                        sql: "UPDATE police_holds SET escalated_at = ?, record = ? WHERE id = ?",
                        arguments: [now.storedValue, try StoredJSON.encode(escalated), hold.id.rawValue])
                    return escalated
                }
            }
        }
    }

    static func hold(_ row: Row?) throws -> PoliceHold? {
        guard let row else { return nil }
        return try StoredJSON.decode(PoliceHold.self, row["record"])
    }
}
