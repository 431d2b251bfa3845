import Foundation
import PostgresNIO
import TakedownStore

extension PostgresStore {
    /// Seals webhook secrets stored in the clear (before sealing existed) and checks that the key opens the
    /// sealed ones, so a replaced or lost key stops the start instead of every delivery. Runs while
    /// `migrate()` holds the migration lock, so instances starting together seal each row once. (Copies made
    /// before, such as backups and the server's write-ahead log, still hold what they held.)
    @discardableResult
    func sealStoredSecrets(_ transaction: Transaction) async throws -> Int {
        try await transaction.run("BEGIN")
        var sealed = 0
        for row in try await transaction.rows("SELECT id, secret FROM webhook_secrets ORDER BY id FOR UPDATE") {
            let stored: String = try row.get("secret")
            guard secrets.needsSealing(stored) else {
                _ = try secrets.opened(stored)
                continue
            }
            let id: Int64 = try row.get("id")
            try await transaction.run(
                "UPDATE webhook_secrets SET secret = \(try secrets.seal(stored)) WHERE id = \(id)")
            sealed += 1
        }
        try await transaction.run("COMMIT")
        // The rows' earlier versions, in the clear, stay in the table's pages until it is rewritten.
        if sealed > 0 { try await transaction.run("VACUUM FULL webhook_secrets") }
        return sealed
    }
}
