import Foundation
import GRDB
import TakedownTestSupport
import Testing

@testable import TakedownSQLite

/// Writes that share a transaction: what a caller is told is what the file holds.
@Suite("SQLite: group commit")
struct GroupCommitTests {
    /// A write that ends the shared transaction (as SQLite does on a full disk) stands in for SQLite
    /// rolling it back: the writes before it in its batch are gone, so they must be reported failed, and
    /// none after it may commit on its own. (GRDB's commit of the batch fails then too; the check after
    /// each write stops the batch at once.)
    @Test(
        "every write reported stored is stored, and every one reported failed is not, when a batch's transaction is lost"
    )
    func lostTransaction() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("t.sqlite").path)
        try await store.migrate()
        try await store.pool.write { db in try db.execute(sql: "CREATE TABLE probe (n INTEGER PRIMARY KEY)") }
        let breaking: Set<Int> = [7, 77, 150]
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<200 {
                group.addTask {
                    do {
                        try await store.commits.write { db in
                            if breaking.contains(n) {
                                try db.execute(sql: "ROLLBACK")
                            } else {
                                try db.execute(sql: "INSERT INTO probe (n) VALUES (?)", arguments: [n])
                            }
                        }
                        return (n, true)
                    } catch {
                        return (n, false)
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        let stored = Set(try await store.pool.read { db in try Int.fetchAll(db, sql: "SELECT n FROM probe") })
        #expect(outcomes.count == 200)
        for (n, reported) in outcomes {
            #expect(stored.contains(n) == reported, "write \(n): reported \(reported ? "stored" : "failed")")
        }
        #expect(breaking.allSatisfy { outcomes[$0] == false })
        // Writes after a lost batch go on: the store is not left broken.
        try await store.commits.write { db in try db.execute(sql: "INSERT INTO probe (n) VALUES (1000)") }
        #expect(
            try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT n FROM probe WHERE n = 1000") } == 1000)
    }
}
