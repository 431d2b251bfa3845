import Foundation
import TakedownModel
import TakedownPostgres
import TakedownStore
import TakedownTestSupport
import Testing

/// Cursors over notices and hash-list changes never skip a row that commits later: positions and
/// sequence numbers are handed out in commit order, also with several instances writing at once.
@Suite(
    "PostgreSQL cursors under concurrent writers",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresCursorTests {
    @Test("readers paging notices and a hash-list feed while four instances write see every row once")
    func noSkips() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let stores = try (0..<5).map { _ in try PostgresStore(url: url, poolSize: 4) }
            try await stores[0].migrate()
            let partner = Synthetic.partner(domains: ["cursor.test"])
            try await stores[0].insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
            let list = HashList(
                id: .generate(), name: "Cursor", audience: .hostingProvider, hashTypes: [.md5, .sha256],
                include: HashListInclusion(ukGrades: [.a, .b]), partners: [], createdAt: Synthetic.epoch,
                updatedAt: Synthetic.epoch)
            try await stores[0].insertHashList(list)
            let done = Locked(false)
            let reader = stores[4]
            let readTask = Task { () -> (notices: [NoticeID], seqs: [Int64]) in
                var notices: [NoticeID] = []
                var seqs: [Int64] = []
                var position: Int64 = 0
                var seq: Int64 = 0
                while true {
                    let finished = done.withLock { $0 }
                    let page = try await reader.notices(after: position, limit: 7, partner: nil)
                    notices += page.map(\.id)
                    position = page.last?.position ?? position
                    let records = try await reader.hashListRecords(list.id, after: seq, liveAt: nil, limit: 7)
                    seqs += records.map(\.change.seq)
                    seq = records.last?.change.seq ?? seq
                    if finished && page.isEmpty && records.isEmpty { return (notices, seqs) }
                }
            }
            let written = try await withThrowingTaskGroup(of: [NoticeID].self) { group in
                for store in stores.prefix(4) {
                    group.addTask {
                        var ids: [NoticeID] = []
                        for index in 0..<25 {
                            let record = Synthetic.caseRecord(urls: ["https://cursor.test/\(index)"])
                            let notice = Synthetic.notice(for: record, partner: partner.id)
                            _ = try await store.insertCase(record, notices: [notice], deliveries: [], idempotency: nil)
                            ids.append(notice.id)
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            done.withLock { $0 = true }
            let read = try await readTask.value
            // With positions from a sequence taken early in the transaction, 14-16 of these 100 were skipped.
            let skipped = Set(written).subtracting(read.notices)
            #expect(skipped.isEmpty, "\(skipped.count) notices skipped by the cursor")
            #expect(read.notices.count == written.count)
            // One entry per case (its md5/sha256), numbered 1... with no gap and none twice.
            #expect(read.seqs == Array(1...Int64(written.count)))
            for store in stores { await store.shutdown() }
        }
    }
}
