import Synchronization

/// Caps how many costly responses (exports, XARF renderings, CSV figures) run at once: per caller, so one
/// partner cannot crowd out the others, and in all, so the two cooperative threads stay free for the rest.
public final class HeavyRequestLimiter: Sendable {
    private struct Counts {
        var total = 0
        var byCaller: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())
    public let perCaller: Int
    public let total: Int

    public init(perCaller: Int = 2, total: Int = 8) {
        self.perCaller = perCaller
        self.total = total
    }

    /// A slot for `caller`, or nil when it (or the process) already runs as many as allowed.
    public func acquire(_ caller: String) -> Slot? {
        let granted = counts.withLock { counts in
            guard counts.total < total, counts.byCaller[caller, default: 0] < perCaller else { return false }
            counts.total += 1
            counts.byCaller[caller, default: 0] += 1
            return true
        }
        return granted ? Slot(limiter: self, caller: caller) : nil
    }

    fileprivate func release(_ caller: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.byCaller[caller, default: 1] - 1
            counts.byCaller[caller] = left > 0 ? left : nil
        }
    }

    /// One running heavy response; released exactly once, when it finishes or is dropped.
    public final class Slot: Sendable {
        private let limiter: HeavyRequestLimiter
        private let caller: String
        private let released = Atomic<Bool>(false)

        fileprivate init(limiter: HeavyRequestLimiter, caller: String) {
            self.limiter = limiter
            self.caller = caller
        }

        public func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { limiter.release(caller) }
        }

        deinit { release() }
    }
}
