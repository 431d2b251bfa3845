import Foundation
import Logging
import ServiceLifecycle

/// Runs one round of work, then waits, until graceful shutdown: the escalation ladder and hash-list
/// publishing run so inside `takedown serve` and `takedown worker`. A failed round is logged and the next
/// one runs on time.
public struct RepeatingService: Service {
    let name: String
    let interval: TimeInterval
    let logger: Logger
    let round: @Sendable () async throws -> Void

    public init(
        _ name: String, every interval: TimeInterval, logger: Logger, round: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.round = round
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await round()
                } catch {
                    // A round cut short by shutdown did not fail.
                    if Task.isCancelled { return }
                    logger.error("\(name) round failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}
