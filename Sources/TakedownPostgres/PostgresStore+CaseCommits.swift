import Foundation
import PostgresNIO
import Synchronization
import TakedownModel
import TakedownStore

/// Group commit for the hot write of issuance on PostgreSQL: cases submitted while a batch is being written
/// wait, and the next transaction writes all of them (at most `batchLimit`) in one multi-row statement per
/// table, with one turn of each position counter and one commit.
///
/// Why this and not one transaction per case: positions must be handed out in commit order (a cursor must
/// never pass a row that commits later), so a case transaction holds the counter row from taking its
/// positions until it commits, and case transactions commit one at a time behind it. Measured here, that
/// capped issuance at 217–434 notices/s however many connections wrote. A sequence with readers held below
/// the oldest uncommitted position would need every reader to find that position; batching keeps the
/// counter and its proof (the four-instance paging test) and divides the time it is held by the batch.
///
/// What a caller is told matches what is stored. A batch that fails as a whole (a notice id already taken,
/// say) is written again one case per transaction, so only the case at fault fails and every other commits.
/// Every caller returns only after the commit that holds its case. Two cases with one idempotency key never
/// share a batch: the later one waits for the next, where it finds the first and replays it.
final class CaseCommits: Sendable {
    static let batchLimit = 64
    /// Batches written at once: one gathers and writes its rows while the other holds the counters and
    /// commits.
    static let writers = 2

    struct Job: Sendable {
        let record: Case
        let notices: [(Notice, String)]
        let deliveries: [Delivery]
        let idempotency: IdempotencyRecord?
        /// The request's pending audit entry, written with its case.
        let scope: AuditScope?
        let continuation: CheckedContinuation<IdempotencyRecord?, any Error>

        func resume(_ result: Result<IdempotencyRecord?, any Error>) { continuation.resume(with: result) }
    }

    private struct State {
        var pending: [Job] = []
        var writing = 0
    }

    private let state = Mutex(State())

    /// Queues a case and returns once the transaction holding it has committed (or failed).
    func write(
        _ record: Case, notices: [(Notice, String)], deliveries: [Delivery], idempotency: IdempotencyRecord?,
        through store: PostgresStore
    ) async throws -> IdempotencyRecord? {
        let scope = AuditScope.current
        return try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                record: record, notices: notices, deliveries: deliveries, idempotency: idempotency, scope: scope,
                continuation: continuation)
            let start = state.withLock { state in
                state.pending.append(job)
                guard state.writing < Self.writers else { return false }
                state.writing += 1
                return true
            }
            if start { Task.detached { await self.drain(store) } }
        }
    }

    /// Writes batches until nothing waits.
    private func drain(_ store: PostgresStore) async {
        while true {
            let batch = state.withLock { state -> [Job] in
                let batch = Self.takeBatch(&state.pending)
                if batch.isEmpty { state.writing -= 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            await store.write(batch)
        }
    }

    /// Takes the next batch in arrival order, leaving behind any case whose idempotency key an earlier one
    /// in the batch carries.
    private static func takeBatch(_ pending: inout [Job]) -> [Job] {
        var batch: [Job] = []
        var left: [Job] = []
        var keys: Set<[String]> = []
        for job in pending {
            guard batch.count < batchLimit else {
                left.append(job)
                continue
            }
            if let key = job.idempotency, !keys.insert([key.scope, key.key]).inserted {
                left.append(job)
            } else {
                batch.append(job)
            }
        }
        pending = left
        return batch
    }
}

extension PostgresStore {
    /// Writes a batch of cases in one transaction; when that fails, each case in a transaction of its own.
    func write(_ batch: [CaseCommits.Job]) async {
        if batch.count > 1 {
            let audits = batch.map { $0.scope?.claim() }
            do {
                let earlier = try await transaction { transaction in
                    try await Self.writeBatch(batch, audits: audits, transaction)
                }
                for (job, found) in zip(batch, earlier) { job.resume(.success(found)) }
                return
            } catch {
                for (job, audit) in zip(batch, audits) where audit != nil { job.scope?.release() }
                logger.debug("a batch of cases failed; writing them one at a time", metadata: ["error": "\(error)"])
            }
        }
        for job in batch {
            // Under the request's scope, so its pending audit entry commits with its case.
            await AuditScope.$current.withValue(job.scope) {
                do {
                    job.resume(
                        .success(
                            try await insertCase(
                                job.record, encodedNotices: job.notices, deliveries: job.deliveries, hold: nil,
                                idempotency: job.idempotency)))
                } catch {
                    job.resume(.failure(error))
                }
            }
        }
    }

    /// The batch's writes: idempotency keys locked and looked up in one statement each, then the cases
    /// not already written, their keys and audit entries. Returns each case's earlier record, if any.
    static func writeBatch(_ batch: [CaseCommits.Job], audits: [AuditEntry?], _ transaction: Transaction)
        async throws -> [IdempotencyRecord?]
    {
        let keys = batch.compactMap(\.idempotency).sorted { ($0.scope, $0.key) < ($1.scope, $1.key) }
        var earlier: [[String]: IdempotencyRecord] = [:]
        if !keys.isEmpty {
            // As `insertCase` does for one key: a request with a key written elsewhere meanwhile waits here
            // for that to commit, then finds it.
            try await transaction.run(
                """
                SELECT pg_advisory_xact_lock(hashtext(s), hashtext(k))
                FROM unnest(\(keys.map(\.scope))::text[], \(keys.map(\.key))::text[]) WITH ORDINALITY AS t(s, k, n)
                ORDER BY n
                """)
            for row in try await transaction.rows(
                """
                SELECT * FROM idempotency_keys
                WHERE (scope, key) IN (SELECT * FROM unnest(\(keys.map(\.scope))::text[], \(keys.map(\.key))::text[]))
                """)
            {
                let record = try idempotency(from: row)
                earlier[[record.scope, record.key]] = record
            }
        }
        let found = batch.map { job in job.idempotency.flatMap { earlier[[$0.scope, $0.key]] } }
        let fresh = zip(batch, found).filter { $1 == nil }.map(\.0)
        // Before the cases, whose position counters stay held to commit: what needs no position.
        try await insertAudit(audits.compactMap { $0 }, transaction)
        try await insert(idempotency: fresh.compactMap(\.idempotency), transaction)
        try await writeCases(
            fresh.map { ($0.record, $0.notices) }, deliveries: fresh.flatMap(\.deliveries), transaction)
        return found
    }
}
