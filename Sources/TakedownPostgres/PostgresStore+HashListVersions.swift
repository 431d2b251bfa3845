import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func insertHashListVersion(_ version: HashListVersion) async throws -> Bool {
        try await transaction { transaction in
            let inserted =
                try await transaction.count(
                    """
                    INSERT INTO hash_list_versions (list_id, version, seq, entry_count, created_at, expires_at, manifest,
                                                    jws)
                    VALUES (\(version.listId.rawValue), \(version.version), \(version.seq), \(version.entryCount),
                            \(version.createdAt.stored), \(version.expiresAt.stored), \(version.manifest), \(version.jws))
                    ON CONFLICT (list_id, version) DO NOTHING
                    RETURNING 1
                    """) == 1
            if inserted { try await Self.log([.hashListVersion(version)], transaction) }
            return inserted
        }
    }

    public func hashListVersion(_ list: HashListID, number: Int?) async throws -> HashListVersion? {
        let found: [PostgresRandomAccessRow]
        if let number {
            found = try await rows(
                "SELECT * FROM hash_list_versions WHERE list_id = \(list.rawValue) AND version = \(number)")
        } else {
            found = try await rows(
                "SELECT * FROM hash_list_versions WHERE list_id = \(list.rawValue) ORDER BY version DESC LIMIT 1")
        }
        return try found.first.map(Self.version(from:))
    }

    public func hashListVersions(_ list: HashListID) async throws -> [HashListVersion] {
        try await rows("SELECT * FROM hash_list_versions WHERE list_id = \(list.rawValue) ORDER BY version")
            .map(Self.version(from:))
    }

    public func purgeHashListTombstones(_ list: HashListID, deletedBefore: Date) async throws -> Int64 {
        try await transaction { transaction in
            // The list row lock orders this after (or before) any writer of the list.
            guard
                let purged = try await transaction.rows(
                    "SELECT purged_through FROM hash_lists WHERE id = \(list.rawValue) FOR UPDATE"
                ).first?.get("purged_through", as: Int64.self)
            else { throw StoreError.notFound }
            let rule = TombstonePurge(
                deletedBefore: deletedBefore,
                publishedThrough: try await transaction.rows(
                    "SELECT seq FROM hash_list_versions WHERE list_id = \(list.rawValue) ORDER BY version DESC LIMIT 1"
                ).first?.get("seq", as: Int64.self))
            // Every tombstone not yet purged (a partial index holds just these); the rule picks.
            var victims: [(number: Int64, seq: Int64)] = []
            for row in try await transaction.rows(
                """
                SELECT number, seq, deleted_at FROM hash_list_entries
                WHERE list_id = \(list.rawValue) AND deleted_at IS NOT NULL AND NOT purged
                """)
            where rule.purges(deletedAt: try row.date("deleted_at"), seq: try row.get("seq")) {
                victims.append((try row.get("number"), try row.get("seq")))
            }
            for victim in victims {
                try await transaction.run(
                    "DELETE FROM hash_list_changes WHERE list_id = \(list.rawValue) AND entry_number = \(victim.number)"
                )
                try await transaction.run(
                    """
                    UPDATE hash_list_entries SET purged = true
                    WHERE list_id = \(list.rawValue) AND number = \(victim.number)
                    """)
            }
            let through = TombstonePurge.purgedThrough(purged, after: victims.map(\.seq))
            try await transaction.run("UPDATE hash_lists SET purged_through = \(through) WHERE id = \(list.rawValue)")
            return through
        }
    }

    static func version(from row: PostgresRandomAccessRow) throws -> HashListVersion {
        HashListVersion(
            listId: HashListID(rawValue: try row.get("list_id")), version: try row.get("version"),
            seq: try row.get("seq"),
            entryCount: try row.get("entry_count"), createdAt: try row.date("created_at"),
            expiresAt: try row.date("expires_at"), manifest: try row.get("manifest"), jws: try row.get("jws"))
    }
}
