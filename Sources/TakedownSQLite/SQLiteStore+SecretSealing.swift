import Foundation
import GRDB
import TakedownStore

extension SQLiteStore {
    /// Seals webhook secrets stored in the clear (before sealing existed) and checks that the key opens the
    /// sealed ones, so a replaced or lost key stops the start instead of every delivery. Returns how many
    /// rows it sealed.
    ///
    /// The clear text must not linger in the file either: the rows are rewritten with `secure_delete` on
    /// (freed bytes are zeroed) and the write-ahead log is then checkpointed and truncated.
    @discardableResult
    func sealStoredSecrets() async throws -> Int {
        let secrets = self.secrets
        return try await guarded {
            try await pool.writeWithoutTransaction { db in
                let rows = try Row.fetchAll(db, sql: "SELECT rowid, secret FROM webhook_secrets")
                var clear: [(rowid: Int64, secret: String)] = []
                for row in rows {
                    let stored: String = row["secret"]
                    if secrets.needsSealing(stored) {
                        clear.append((row["rowid"], stored))
                    } else {
                        _ = try secrets.opened(stored)
                    }
                }
                guard !clear.isEmpty else { return 0 }
                try db.execute(sql: "PRAGMA secure_delete = ON")
                defer { try? db.execute(sql: "PRAGMA secure_delete = OFF") }
                try db.inTransaction {
                    for (rowid, secret) in clear {
                        try db.execute(
                            sql: "UPDATE webhook_secrets SET secret = ? WHERE rowid = ?",
                            arguments: [try secrets.seal(secret), rowid])
                    }
                    return .commit
                }
                try db.checkpoint(.truncate)
                return clear.count
            }
        }
    }
}
