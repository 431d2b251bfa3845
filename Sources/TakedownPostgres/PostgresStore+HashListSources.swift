import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// Sources of lists, each entry's source time and each change's origin.
    static let hashListSourceSchema = [
        "ALTER TABLE hash_list_entries ADD COLUMN remote_at double precision",
        """
        ALTER TABLE hash_list_changes ADD COLUMN origin_source text, ADD COLUMN origin_member bigint,
            ADD COLUMN origin_id text
        """,
        """
        CREATE TABLE hash_list_sources (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            list_id text NOT NULL REFERENCES hash_lists(id),
            name text NOT NULL,
            base_url text NOT NULL,
            username text NOT NULL,
            password text NOT NULL,
            uk_grade text NOT NULL,
            interval_seconds bigint NOT NULL,
            overlap_seconds bigint NOT NULL,
            created_at double precision NOT NULL,
            next_pull_at double precision NOT NULL,
            lease_token text,
            lease_until double precision,
            state text NOT NULL
        )
        """,
        "CREATE INDEX hash_list_sources_list ON hash_list_sources(list_id, position)",
        "CREATE INDEX hash_list_sources_due ON hash_list_sources(next_pull_at)",
    ]

    public func insertHashListSource(_ source: HashListSource) async throws {
        let sealed = try secrets.seal(source.password)
        let state = try StoredJSON.encode(source.state)
        try await transaction { transaction in
            guard
                try await transaction.rows("SELECT 1 FROM hash_lists WHERE id = \(source.listId.rawValue)").first != nil
            else { throw StoreError.notFound }
            try await transaction.run(
                """
                INSERT INTO hash_list_sources (id, list_id, name, base_url, username, password, uk_grade,
                    interval_seconds, overlap_seconds, created_at, next_pull_at, state)
                VALUES (\(source.id.rawValue), \(source.listId.rawValue), \(source.name), \(source.baseURL),
                    \(source.username), \(sealed), \(source.ukGrade.rawValue), \(source.intervalSeconds),
                    \(source.overlapSeconds), \(source.createdAt.stored), \(source.state.nextPullAt.stored), \(state))
                """)
        }
    }

    public func hashListSource(_ id: SourceID) async throws -> HashListSource? {
        try await rows("SELECT * FROM hash_list_sources WHERE id = \(id.rawValue)").first.map(source(from:))
    }

    public func hashListSources(_ list: HashListID) async throws -> [HashListSource] {
        try await rows("SELECT * FROM hash_list_sources WHERE list_id = \(list.rawValue) ORDER BY position")
            .map(source(from:))
    }

    public func scheduleHashListSourcePull(_ id: SourceID, at: Date) async throws {
        try await transaction { transaction in
            let updated = try await transaction.rows(
                "UPDATE hash_list_sources SET next_pull_at = \(at.stored) WHERE id = \(id.rawValue) RETURNING id")
            guard !updated.isEmpty else { throw StoreError.notFound }
        }
    }

    public func claimHashListSource(now: Date, lease: TimeInterval) async throws -> SourceClaim? {
        let token = UUID().uuidString
        let row = try await transaction { transaction in
            try await transaction.rows(
                """
                UPDATE hash_list_sources SET lease_token = \(token), lease_until = \(now.addingTimeInterval(lease).stored)
                WHERE id = (SELECT id FROM hash_list_sources
                            WHERE next_pull_at <= \(now.stored) AND (lease_until IS NULL OR lease_until < \(now.stored))
                            ORDER BY next_pull_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING *
                """
            ).first
        }
        return try row.map { SourceClaim(source: try source(from: $0), token: token) }
    }

    public func applyHashListSourcePage(
        _ claim: SourceClaim, _ changes: [SourceChange], state: SourceState, at now: Date, leaseUntil: Date?
    ) async throws -> SourceCounts? {
        try await transaction { transaction in
            guard let held = try await Self.heldState(claim, transaction) else { return nil }
            guard
                let list = try await Self.hashLists(
                    Self.listSelect + " WHERE l.id = $1", claim.source.listId.rawValue, transaction
                ).first
            else { throw StoreError.notFound }
            var log = try await PostgresHashListLog(list.id, transaction)
            let counts =
                SourceCounts(pages: 1)
                + (try await log.takePage(changes, from: claim.source, hashTypes: list.hashTypes, at: now, transaction))
            try await log.save(transaction)
            var stored = state
            stored.counts = held.counts + counts
            try await Self.saveState(claim, stored, leaseUntil: leaseUntil, transaction)
            return counts
        }
    }

    public func updateHashListSourceState(_ claim: SourceClaim, _ state: SourceState, release: Bool) async throws
        -> Bool
    {
        try await transaction { transaction in
            guard let held = try await Self.heldState(claim, transaction) else { return false }
            var stored = state
            stored.counts = held.counts
            let lease =
                release
                ? nil
                : try await transaction.rows(
                    "SELECT lease_until FROM hash_list_sources WHERE id = \(claim.source.id.rawValue)"
                ).first?.optionalDate("lease_until")
            try await Self.saveState(claim, stored, leaseUntil: lease, transaction)
            return true
        }
    }

    /// The stored state of a source whose claim `claim` still holds (its row locked); nil when it was lost.
    static func heldState(_ claim: SourceClaim, _ transaction: Transaction) async throws -> SourceState? {
        guard
            let row = try await transaction.rows(
                """
                SELECT state FROM hash_list_sources
                WHERE id = \(claim.source.id.rawValue) AND lease_token = \(claim.token) FOR UPDATE
                """
            ).first
        else { return nil }
        return try StoredJSON.decode(SourceState.self, try row.get("state", as: String.self))
    }

    /// Writes the state; a nil `leaseUntil` releases the claim.
    static func saveState(_ claim: SourceClaim, _ state: SourceState, leaseUntil: Date?, _ transaction: Transaction)
        async throws
    {
        let token = leaseUntil == nil ? nil : claim.token
        try await transaction.run(
            """
            UPDATE hash_list_sources SET state = \(try StoredJSON.encode(state)), next_pull_at = \(state.nextPullAt.stored),
                lease_until = \(leaseUntil?.stored), lease_token = \(token)
            WHERE id = \(claim.source.id.rawValue) AND lease_token = \(claim.token)
            """)
    }

    func source(from row: PostgresRandomAccessRow) throws -> HashListSource {
        var state = try StoredJSON.decode(SourceState.self, try row.get("state", as: String.self))
        state.nextPullAt = try row.date("next_pull_at")
        return HashListSource(
            id: SourceID(rawValue: try row.get("id")), listId: HashListID(rawValue: try row.get("list_id")),
            name: try row.get("name"), baseURL: try row.get("base_url"), username: try row.get("username"),
            password: try secrets.opened(try row.get("password")),
            ukGrade: UKGrade(rawValue: try row.get("uk_grade")) ?? .a,
            intervalSeconds: Int(try row.get("interval_seconds", as: Int64.self)),
            overlapSeconds: Int(try row.get("overlap_seconds", as: Int64.self)), createdAt: try row.date("created_at"),
            state: state)
    }
}
