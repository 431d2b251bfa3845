import Foundation
import PostgresNIO
import TakedownSigning
import TakedownStore

/// The tamper-evident log: entries appended in the changes' transactions, sequenced into the tree after, by
/// one instance at a time (the lock on `log_state`'s row), as they commit: each round takes those committed
/// since the last in the order of the transactions that wrote them, then of their numbers.
extension PostgresStore {
    static let transparencyLogSchema = [
        """
        CREATE TABLE log_entries (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subject text NOT NULL,
            body bytea NOT NULL,
            leaf_index bigint UNIQUE
        )
        """,
        // The sequencer reads the pending entries only: without this it would scan the whole log.
        "CREATE INDEX log_entries_pending ON log_entries(seq) WHERE leaf_index IS NULL",
        "CREATE INDEX log_entries_subject ON log_entries(subject, seq)",
        """
        CREATE TABLE log_nodes (
            level integer NOT NULL,
            idx bigint NOT NULL,
            hash bytea NOT NULL,
            PRIMARY KEY (level, idx)
        )
        """,
        """
        CREATE TABLE log_checkpoints (
            size bigint PRIMARY KEY,
            root bytea NOT NULL,
            note text NOT NULL,
            signed_at double precision NOT NULL
        )
        """,
        """
        CREATE TABLE log_state (
            one integer PRIMARY KEY CHECK (one = 1),
            size bigint NOT NULL,
            private_key text,
            origin text
        )
        """,
        "INSERT INTO log_state (one, size) VALUES (1, 0)",
    ]

    /// `v19-log-leaves`: the tree's order kept apart from the entries, so that sequencing inserts narrow rows
    /// instead of rewriting every entry (a non-HOT update through three indexes: measured here as most of the
    /// log's cost to issuance), and the pending entries found from the transaction ids that wrote them.
    ///
    /// Entries that already had their places keep them; every entry is stamped with this migration's
    /// transaction id, which only makes the first sequencing after it look at all of them once.
    static let logLeavesSchema = [
        "ALTER TABLE log_entries ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()",
        """
        CREATE TABLE log_leaves (
            leaf_index bigint PRIMARY KEY,
            seq bigint NOT NULL UNIQUE
        )
        """,
        "INSERT INTO log_leaves (leaf_index, seq) SELECT leaf_index, seq FROM log_entries WHERE leaf_index IS NOT NULL",
        "DROP INDEX log_entries_pending",
        "ALTER TABLE log_entries DROP COLUMN leaf_index",
        "CREATE INDEX log_entries_xid ON log_entries(xid, seq)",
        // Every entry written by a transaction older than this one has its place.
        "ALTER TABLE log_state ADD COLUMN placed_below xid8 NOT NULL DEFAULT '0'",
    ]

    /// Appends entries in the caller's transaction; they wait there for `sequenceLog`.
    static func log(_ entries: [LogEntry], _ transaction: Transaction) async throws {
        guard !entries.isEmpty else { return }
        try await transaction.insertRows("INSERT INTO log_entries (subject, body)", entries, columns: 2) { entry in
            [.v(entry.subject), .v(entry.body)]
        }
    }

    /// Gives pending entries their places, in the order of the transactions that wrote them (their ids),
    /// then of their numbers, and stores the tree's new nodes.
    ///
    /// An entry is pending while it has no row in `log_leaves`. Entries commit out of number order, so the
    /// search cannot start after the last number placed; it starts at `placed_below` instead, a transaction
    /// id below which every entry has its place. A round moves it up to the transaction horizon (every
    /// transaction older than the oldest one running when the round began has finished, so the search saw
    /// all they wrote), or, when the round stopped at `limit`, to the last transaction it placed entries of
    /// (those before it in the order were all placed). A committed entry is always seen by the next round,
    /// whatever runs beside it; a long-open transaction only makes rounds look at more entries.
    public func sequenceLog(limit: Int) async throws -> Int64 {
        try await transaction { transaction in
            // Held to commit: one sequencer at a time, so one tree, whichever instances run.
            guard
                let state = try await transaction.rows(
                    "SELECT size, placed_below::text AS below FROM log_state FOR UPDATE"
                ).first
            else { return 0 }
            let size: Int64 = try state.get("size")
            let below: String = try state.get("below")
            // Taken before the search: transactions older than this have finished, so the search sees all
            // they wrote.
            let horizon: String =
                try await transaction.rows("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x").first?.get(
                    "x") ?? below
            let pending = try await transaction.rows(
                """
                SELECT e.seq, e.xid::text AS xid, e.body FROM log_entries e
                WHERE e.xid >= \(below)::xid8 AND NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.seq = e.seq)
                ORDER BY e.xid, e.seq LIMIT \(Int64(limit))
                """)
            let reached: String = pending.count < limit ? horizon : try pending.last?.get("xid") ?? horizon
            try await transaction.run(
                """
                UPDATE log_state
                SET placed_below = greatest(placed_below, least(\(horizon)::xid8, \(reached)::xid8))
                """)
            guard !pending.isEmpty else { return size }
            let seqs: [Int64] = try pending.map { try $0.get("seq") }
            let leaves = try pending.map { MerkleTree.leafHash(try $0.get("body", as: Data.self)) }
            let frontier = try await Self.nodes(Set(MerkleTree.frontier(size: size)), transaction)
            let added = MerkleTree.append(leaves, to: size, frontier: frontier)
            try await transaction.run(
                """
                INSERT INTO log_leaves (leaf_index, seq)
                SELECT * FROM UNNEST(\(seqs.indices.map { size + Int64($0) })::bigint[], \(seqs)::bigint[])
                """)
            try await transaction.insertRows("INSERT INTO log_nodes (level, idx, hash)", added, columns: 3) {
                node, hash in [.v(Int64(node.level)), .v(node.index), .v(hash)]
            }
            let grown = size + Int64(pending.count)
            try await transaction.run("UPDATE log_state SET size = \(grown)")
            return grown
        }
    }

    public func logSize() async throws -> Int64 {
        try await rows("SELECT size FROM log_state").first?.get("size") ?? 0
    }

    public func logNodes(_ nodes: Set<MerkleNode>) async throws -> [MerkleNode: Data] {
        try await Self.nodes(nodes, self)
    }

    static func nodes(_ nodes: Set<MerkleNode>, _ source: some RowSource) async throws -> [MerkleNode: Data] {
        guard !nodes.isEmpty else { return [:] }
        let wanted = Array(nodes)
        let found = try await source.rows(
            """
            SELECT n.level, n.idx, n.hash FROM log_nodes n
            JOIN UNNEST(\(wanted.map { Int64($0.level) })::bigint[], \(wanted.map(\.index))::bigint[]) AS t(l, i)
                ON n.level = t.l AND n.idx = t.i
            """)
        var hashes: [MerkleNode: Data] = [:]
        for row in found {
            let level: Int32 = try row.get("level")
            hashes[MerkleNode(level: Int(level), index: try row.get("idx"))] = try row.get("hash")
        }
        return hashes
    }

    /// Each entry looked up by its number, place by place (`OFFSET 0` keeps the lateral subquery from being
    /// made a join): as a join, the planner hashed the whole log for every page, analyzed or not (26 ms
    /// against 1.4 ms for a page of 1,000 places in a log of 200,000 here, and growing with the log).
    public func logEntries(from start: Int64, to end: Int64) async throws -> [LoggedEntry] {
        try await rows(
            """
            SELECT l.leaf_index, e.subject, e.body FROM log_leaves l
            CROSS JOIN LATERAL (SELECT subject, body FROM log_entries WHERE seq = l.seq OFFSET 0) e
            WHERE l.leaf_index >= \(start) AND l.leaf_index < \(end) ORDER BY l.leaf_index
            """
        ).map(Self.loggedEntry)
    }

    /// Each place looked up by its entry's number: a subquery, whose plan is the unique index whatever the
    /// statistics, not a join, whose plan depends on them (a run just after the log was filled, before
    /// autovacuum's ANALYZE, served 221 proofs/s where the others served 593–648).
    public func logEntries(about subject: String) async throws -> (entries: [LoggedEntry], pending: Bool) {
        let found = try await rows(
            """
            SELECT (SELECT l.leaf_index FROM log_leaves l WHERE l.seq = e.seq) AS leaf_index, e.subject, e.body
            FROM log_entries e WHERE e.subject = \(subject) ORDER BY e.seq
            """)
        let sequenced = try found.filter { try $0.get("leaf_index", as: Int64?.self) != nil }
        return (try sequenced.map(Self.loggedEntry).sorted { $0.index < $1.index }, sequenced.count < found.count)
    }

    static func loggedEntry(_ row: PostgresRandomAccessRow) throws -> LoggedEntry {
        LoggedEntry(index: try row.get("leaf_index"), subject: try row.get("subject"), body: try row.get("body"))
    }

    public func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await transaction { transaction in
            try await transaction.run(
                """
                INSERT INTO log_checkpoints (size, root, note, signed_at)
                VALUES (\(checkpoint.size), \(checkpoint.rootHash), \(checkpoint.note), \(checkpoint.signedAt.stored))
                ON CONFLICT (size) DO NOTHING
                """)
        }
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await rows("SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1").first.map(Self.checkpoint)
    }

    public func checkpoint(size: Int64) async throws -> StoredCheckpoint? {
        try await rows("SELECT * FROM log_checkpoints WHERE size = \(size)").first.map(Self.checkpoint)
    }

    static func checkpoint(_ row: PostgresRandomAccessRow) throws -> StoredCheckpoint {
        StoredCheckpoint(
            size: try row.get("size"), rootHash: try row.get("root"), note: try row.get("note"),
            signedAt: try row.date("signed_at"))
    }

    public func logIdentity(proposing key: String, origin: String) async throws -> (key: String, origin: String) {
        let sealed = try secrets.seal(key)
        let (storedKey, storedOrigin) = try await transaction { transaction in
            try await transaction.run(
                "UPDATE log_state SET private_key = \(sealed), origin = \(origin) WHERE private_key IS NULL")
            let row = try await transaction.rows("SELECT private_key, origin FROM log_state").first
            return (
                try row?.get("private_key", as: String?.self) ?? sealed,
                try row?.get("origin", as: String?.self) ?? origin
            )
        }
        return (try secrets.open(storedKey), storedOrigin)
    }
}
