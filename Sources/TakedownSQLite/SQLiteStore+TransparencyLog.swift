import Foundation
import GRDB
import TakedownSigning
import TakedownStore

/// The tamper-evident log: entries appended in the changes' transactions, sequenced into the tree after.
extension SQLiteStore {
    static func registerTransparencyLog(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v18-transparency-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE log_entries (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        subject TEXT NOT NULL,
                        body BLOB NOT NULL,
                        leaf_index INTEGER UNIQUE
                    );
                    CREATE INDEX log_entries_subject ON log_entries(subject, seq);
                    CREATE TABLE log_nodes (
                        level INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        PRIMARY KEY (level, idx)
                    ) WITHOUT ROWID;
                    CREATE TABLE log_checkpoints (
                        size INTEGER PRIMARY KEY,
                        root BLOB NOT NULL,
                        note TEXT NOT NULL,
                        signed_at REAL NOT NULL
                    );
                    CREATE TABLE log_state (
                        one INTEGER PRIMARY KEY CHECK (one = 1),
                        size INTEGER NOT NULL,
                        sequenced_seq INTEGER NOT NULL DEFAULT 0,
                        private_key TEXT,
                        origin TEXT
                    );
                    INSERT INTO log_state (one, size) VALUES (1, 0);
                    """)
        }
    }

    /// Appends entries in the caller's transaction; they wait there for `sequenceLog`.
    static func log(_ entries: LogEntry..., db: Database) throws {
        for entry in entries {
            try db.cachedStatement(sql: "INSERT INTO log_entries (subject, body) VALUES (?, ?)")
                .execute(arguments: [entry.subject, entry.body])
        }
    }

    public func sequenceLog(limit: Int) async throws -> Int64 {
        try await guarded {
            try await pool.write { db in
                let state = try Row.fetchOne(db, sql: "SELECT size, sequenced_seq FROM log_state")
                let size: Int64 = state?["size"] ?? 0
                // One writer at a time: entries commit in the order of their numbers, so those waiting are the
                // ones after the last sequenced, read by the primary key (no index of pending rows to keep).
                let pending = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT seq, body FROM log_entries WHERE seq > ? ORDER BY seq LIMIT ?"),
                    arguments: [state?["sequenced_seq"] ?? 0, limit])
                guard !pending.isEmpty else { return size }
                let frontier = try Self.nodes(Set(MerkleTree.frontier(size: size)), db)
                let added = MerkleTree.append(
                    pending.map { MerkleTree.leafHash($0["body"] as Data) }, to: size, frontier: frontier)
                for (offset, row) in pending.enumerated() {
                    try db.cachedStatement(sql: "UPDATE log_entries SET leaf_index = ? WHERE seq = ?")
                        .execute(arguments: [size + Int64(offset), row["seq"] as Int64])
                }
                for (node, hash) in added {
                    try db.cachedStatement(sql: "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)")
                        .execute(arguments: [node.level, node.index, hash])
                }
                let grown = size + Int64(pending.count)
                try db.execute(
                    sql: "UPDATE log_state SET size = ?, sequenced_seq = ?",
                    arguments: [grown, pending[pending.count - 1]["seq"] as Int64])
                return grown
            }
        }
    }

    public func logSize() async throws -> Int64 {
        try await guarded {
            try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT size FROM log_state") ?? 0 }
        }
    }

    public func logNodes(_ nodes: Set<MerkleNode>) async throws -> [MerkleNode: Data] {
        try await guarded { try await pool.read { db in try Self.nodes(nodes, db) } }
    }

    static func nodes(_ nodes: Set<MerkleNode>, _ db: Database) throws -> [MerkleNode: Data] {
        var hashes: [MerkleNode: Data] = [:]
        for (level, wanted) in Dictionary(grouping: nodes, by: \.level) {
            let indexes = wanted.map(\.index)
            guard let low = indexes.min(), let high = indexes.max() else { continue }
            if high - low < Int64(wanted.count) * 2 {
                // A run (a tile): one range read.
                let rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT idx, hash FROM log_nodes WHERE level = ? AND idx BETWEEN ? AND ?"),
                    arguments: [level, low, high])
                for row in rows {
                    let node = MerkleNode(level: level, index: row["idx"])
                    if nodes.contains(node) { hashes[node] = row["hash"] }
                }
            } else {
                // Scattered nodes (a proof's): one lookup each.
                for node in wanted {
                    if let hash = try Data.fetchOne(
                        db.cachedStatement(sql: "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?"),
                        arguments: [node.level, node.index])
                    {
                        hashes[node] = hash
                    }
                }
            }
        }
        return hashes
    }

    public func logEntries(from start: Int64, to end: Int64) async throws -> [LoggedEntry] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT leaf_index, subject, body FROM log_entries
                        WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index
                        """, arguments: [start, end]
                ).map(Self.loggedEntry)
            }
        }
    }

    public func logEntries(about subject: String) async throws -> (entries: [LoggedEntry], pending: Bool) {
        try await guarded {
            try await pool.read { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT leaf_index, subject, body FROM log_entries WHERE subject = ? ORDER BY seq",
                    arguments: [subject])
                let sequenced = rows.filter { ($0["leaf_index"] as Int64?) != nil }
                return (sequenced.map(Self.loggedEntry).sorted { $0.index < $1.index }, sequenced.count < rows.count)
            }
        }
    }

    static func loggedEntry(_ row: Row) -> LoggedEntry {
        LoggedEntry(index: row["leaf_index"], subject: row["subject"], body: row["body"])
    }

    public func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT OR IGNORE INTO log_checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
                    arguments: [checkpoint.size, checkpoint.rootHash, checkpoint.note, checkpoint.signedAt.storedValue])
            }
        }
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1")
                    .map(Self.checkpoint)
            }
        }
    }

    public func checkpoint(size: Int64) async throws -> StoredCheckpoint? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM log_checkpoints WHERE size = ?", arguments: [size])
                    .map(Self.checkpoint)
            }
        }
    }

    static func checkpoint(_ row: Row) -> StoredCheckpoint {
        StoredCheckpoint(
            size: row["size"], rootHash: row["root"], note: row["note"], signedAt: Date(stored: row["signed_at"]))
    }

    public func logIdentity(proposing key: String, origin: String) async throws -> (key: String, origin: String) {
        let sealed = try secrets.seal(key)
        let (storedKey, storedOrigin) = try await guarded {
            try await pool.write { db in
                try db.execute(
                    sql: "UPDATE log_state SET private_key = ?, origin = ? WHERE private_key IS NULL",
                    arguments: [sealed, origin])
                let row = try Row.fetchOne(db, sql: "SELECT private_key, origin FROM log_state")
                return ((row?["private_key"] as String?) ?? sealed, (row?["origin"] as String?) ?? origin)
            }
        }
        return (try secrets.open(storedKey), storedOrigin)
    }
}
