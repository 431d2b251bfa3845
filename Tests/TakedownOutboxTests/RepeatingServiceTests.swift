import Foundation
import Logging
import ServiceLifecycleTestKit
import Synchronization
import TakedownService
import Testing

/// The loop that runs the ladder and hash-list publishing: rounds on time, failures survived, a prompt stop.
@Suite("Repeating service")
struct RepeatingServiceTests {
    struct Failure: Error {}

    @Test("rounds repeat after a failed one and stop at graceful shutdown")
    func roundsAndShutdown() async throws {
        let rounds = Mutex(0)
        let service = RepeatingService("test", every: 0.02, logger: Logger(label: "test")) {
            let count = rounds.withLock { value -> Int in
                value += 1
                return value
            }
            if count == 2 { throw Failure() }
        }
        try await testGracefulShutdown { trigger in
            let running = Task { try await service.run() }
            for _ in 0..<200 where rounds.withLock({ $0 }) < 5 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(rounds.withLock { $0 } >= 5)
            let started = ContinuousClock.now
            trigger.triggerGracefulShutdown()
            try await running.value
            // Rounds are 20 ms apart; seconds of room for a loaded machine, none for a loop that ignores it.
            #expect(ContinuousClock.now - started < .seconds(5))
            let stopped = rounds.withLock { $0 }
            try await Task.sleep(for: .milliseconds(100))
            #expect(rounds.withLock { $0 } == stopped)
        }
    }
}
