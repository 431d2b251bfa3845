import Foundation
import GRDB
import TakedownModel
import TakedownSQLite
import TakedownStore
import TakedownTestSupport
import Testing

/// The server's checkpoints copy committed cases from the write-ahead log into the database file.
@Suite("SQLite: checkpoints")
struct SQLiteCheckpointTests {
    /// Cases in a copy of the database file alone, without its WAL: what a checkpoint has copied.
    func casesInFile(_ path: String) throws -> Int {
        let copy = path + ".copy"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: copy, configuration: configuration).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM cases") ?? 0
        }
    }

    @Test("committed cases reach the database file at a checkpoint, while the writer goes on")
    func checkpointCopiesTheLog() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await store.checkpoint()
        let partner = try await StoreConformance.insertedPartner(store)
        for index in 0..<20 {
            let record = Synthetic.caseRecord(urls: ["https://a.example.com/\(index)"])
            _ = try await store.insertCase(
                record, notices: [Synthetic.notice(for: record, partner: partner.id)], deliveries: [], idempotency: nil)
        }
        // Twenty small cases stay far below the writer's own checkpoint: they are only in the WAL.
        #expect(try casesInFile(path) == 0)
        try await store.checkpoint()
        #expect(try casesInFile(path) == 20)

        // Checkpoints while cases are written: every case is committed and, after a last one, in the file.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<20 { try await store.checkpoint() }
            }
            for index in 20..<120 {
                group.addTask {
                    let record = Synthetic.caseRecord(urls: ["https://a.example.com/\(index)"])
                    _ = try await store.insertCase(
                        record, notices: [Synthetic.notice(for: record, partner: partner.id)], deliveries: [],
                        idempotency: nil)
                }
            }
            try await group.waitForAll()
        }
        try await store.checkpoint()
        #expect(try casesInFile(path) == 120)
        #expect(try await store.cases(CaseQuery(limit: 500)).count == 120)
    }
}
