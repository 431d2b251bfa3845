import Foundation
import GRDB
import TakedownStore

extension SQLiteStore {
    static func registerSigningKeys(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v15-signing-keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE signing_keys (
                        kid TEXT PRIMARY KEY,
                        created_at REAL NOT NULL,
                        retired_at REAL,
                        private_key TEXT NOT NULL
                    );
                    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys((1)) WHERE retired_at IS NULL;
                    """)
        }
    }

    public func signingKeys() async throws -> [StoredSigningKey] {
        let sealed = try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM signing_keys ORDER BY created_at, kid").map { row in
                    StoredSigningKey(
                        kid: row["kid"], createdAt: Date(stored: row["created_at"]),
                        retiredAt: (row["retired_at"] as Double?).map(Date.init(stored:)),
                        privateKey: row["private_key"])
                }
            }
        }
        return try sealed.map { key in
            var opened = key
            opened.privateKey = try secrets.open(key.privateKey)
            return opened
        }
    }

    public func addSigningKey(_ key: StoredSigningKey, retiringActiveAt: Date?) async throws {
        let sealed = try secrets.seal(key.privateKey)
        try await guarded {
            try await write { db in
                if let retiringActiveAt {
                    try db.execute(
                        sql: "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL",
                        arguments: [retiringActiveAt.storedValue])
                }
                try db.execute(
                    sql: "INSERT INTO signing_keys (kid, created_at, retired_at, private_key) VALUES (?, ?, ?, ?)",
                    arguments: [key.kid, key.createdAt.storedValue, key.retiredAt?.storedValue, sealed])
            }
        }
    }
}
