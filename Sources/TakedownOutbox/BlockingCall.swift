import Dispatch
import Synchronization

/// Runs a blocking call on a Dispatch thread and awaits it, or stops awaiting when the task is
/// cancelled: the caller then gets `cancelled` at once and the call's own result is dropped.
enum BlockingCall {
    static func run<T: Sendable>(cancelled: T, _ work: @escaping @Sendable () -> T) async -> T {
        let once = ResumeOnce<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.wait(continuation)
                DispatchQueue.global().async { once.resume(work()) }
            }
        } onCancel: {
            once.resume(cancelled)
        }
    }

    /// Resumes a continuation exactly once, with whichever result comes first, even a result that
    /// comes before the continuation is known (a task cancelled before it started).
    final class ResumeOnce<T: Sendable>: Sendable {
        private let state = Mutex<(waiting: CheckedContinuation<T, Never>?, early: T?, done: Bool)>((nil, nil, false))

        func wait(_ continuation: CheckedContinuation<T, Never>) {
            let early = state.withLock { state -> T? in
                guard let early = state.early else {
                    state.waiting = continuation
                    return nil
                }
                state.done = true
                return early
            }
            if let early { continuation.resume(returning: early) }
        }

        func resume(_ value: T) {
            let waiting = state.withLock { state -> CheckedContinuation<T, Never>? in
                guard !state.done else { return nil }
                guard let waiting = state.waiting else {
                    if state.early == nil { state.early = value }
                    return nil
                }
                state.done = true
                state.waiting = nil
                return waiting
            }
            waiting?.resume(returning: value)
        }
    }
}
