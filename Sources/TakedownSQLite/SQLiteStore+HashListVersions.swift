import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertHashListVersion(_ version: HashListVersion) async throws -> Bool {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO hash_list_versions
                            (list_id, version, seq, entry_count, created_at, expires_at, manifest, jws)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        version.listId.rawValue, version.version, version.seq, version.entryCount,
                        version.createdAt.storedValue, version.expiresAt.storedValue, version.manifest, version.jws,
                    ])
                guard db.changesCount == 1 else { return false }
                try Self.log(.hashListVersion(version), db: db)
                return true
            }
        }
    }

    public func hashListVersion(_ list: HashListID, number: Int?) async throws -> HashListVersion? {
        try await guarded {
            try await pool.read { db in
                let row: Row?
                if let number {
                    row = try Row.fetchOne(
                        db, sql: "SELECT * FROM hash_list_versions WHERE list_id = ? AND version = ?",
                        arguments: [list.rawValue, number])
                } else {
                    row = try Row.fetchOne(
                        db, sql: "SELECT * FROM hash_list_versions WHERE list_id = ? ORDER BY version DESC LIMIT 1",
                        arguments: [list.rawValue])
                }
                return row.map(Self.version(from:))
            }
        }
    }

    public func hashListVersions(_ list: HashListID) async throws -> [HashListVersion] {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM hash_list_versions WHERE list_id = ? ORDER BY version",
                    arguments: [list.rawValue]
                ).map(Self.version(from:))
            }
        }
    }

    public func purgeHashListTombstones(_ list: HashListID, deletedBefore: Date) async throws -> Int64 {
        try await guarded {
            try await write { db in
                guard
                    let purged = try Int64.fetchOne(
                        db, sql: "SELECT purged_through FROM hash_lists WHERE id = ?", arguments: [list.rawValue])
                else { throw StoreError.notFound }
                let rule = TombstonePurge(
                    deletedBefore: deletedBefore,
                    publishedThrough: try Int64.fetchOne(
                        db, sql: "SELECT seq FROM hash_list_versions WHERE list_id = ? ORDER BY version DESC LIMIT 1",
                        arguments: [list.rawValue]))
                // Every tombstone not yet purged (a partial index holds just these); the rule picks.
                let victims = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT number, seq, deleted_at FROM hash_list_entries
                        WHERE list_id = ? AND deleted_at IS NOT NULL AND purged = 0
                        """,
                    arguments: [list.rawValue]
                ).filter { rule.purges(deletedAt: Date(stored: $0["deleted_at"]), seq: $0["seq"]) }
                for victim in victims {
                    let number: Int64 = victim["number"]
                    try db.execute(
                        sql: "DELETE FROM hash_list_changes WHERE list_id = ? AND entry_number = ?",
                        arguments: [list.rawValue, number])
                    try db.execute(
                        sql: "UPDATE hash_list_entries SET purged = 1 WHERE list_id = ? AND number = ?",
                        arguments: [list.rawValue, number])
                }
                let through = TombstonePurge.purgedThrough(purged, after: victims.map { $0["seq"] })
                try db.execute(
                    sql: "UPDATE hash_lists SET purged_through = ? WHERE id = ?", arguments: [through, list.rawValue])
                return through
            }
        }
    }

    static func version(from row: Row) -> HashListVersion {
        HashListVersion(
            listId: HashListID(rawValue: row["list_id"]), version: row["version"], seq: row["seq"],
            entryCount: row["entry_count"], createdAt: Date(stored: row["created_at"]),
            expiresAt: Date(stored: row["expires_at"]), manifest: row["manifest"], jws: row["jws"])
    }
}
