import GRDB
import Synchronization

/// Group commit for the hot write of issuance: cases submitted while a transaction is running wait, and
/// the next transaction writes all of them, each in its own savepoint. One commit then writes the pages
/// the cases share (the tail of each table and index) once instead of once per case, and the writes make
/// one trip to the writer connection instead of one each (~5.7k single-row `await` writes/s against
/// ~91k/s in batches here, `../shared/research/stack-probe.md`).
///
/// What a caller is told matches what is stored: a case whose savepoint failed is rolled back alone and
/// its caller gets the error; the others still commit. Every caller returns only after the commit that
/// holds its case, so nothing is acknowledged before it is durable as any other commit. A commit that
/// fails fails every case in it.
final class GroupCommit: Sendable {
    /// At most this many writes share a transaction, so one transaction stays short.
    static let batchLimit = 64

    private struct Job: Sendable {
        /// Runs the write inside its savepoint and returns how to answer the caller once committed.
        let run: @Sendable (Database) -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `updates` in a transaction shared with other waiting writes; returns once that is committed.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try updates(db)
                            return .commit
                        }
                        let result = value!
                        return { continuation.resume(returning: result) }
                    } catch {
                        return { continuation.resume(throwing: error) }
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            let startDrain = state.withLock { state in
                state.pending.append(job)
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain { Task.detached { await self.drain() } }
        }
    }

    /// Writes batches until nothing waits.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Job] in
                let batch = Array(state.pending.prefix(Self.batchLimit))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let answers = try await pool.write { db in
                    try batch.map { job in
                        let answer = job.run(db)
                        // SQLite ends the whole transaction on some errors (a full disk, say), not only the
                        // failing savepoint: then the writes before it are gone, and the ones after would
                        // each commit alone. The batch fails as a whole instead.
                        guard db.isInsideTransaction else {
                            throw DatabaseError(
                                resultCode: .SQLITE_ABORT,
                                message: "the shared transaction was rolled back; no write of it is stored")
                        }
                        return answer
                    }
                }
                for answer in answers { answer() }
            } catch {
                for job in batch { job.fail(error) }
            }
        }
    }
}
