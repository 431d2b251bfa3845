import ArgumentParser
import Logging
import ServiceLifecycle
import TakedownOutbox
import TakedownServer

/// Runs only the outbox worker and the lease rescuer, beside a gateway that serves the API.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deliver notices from the outbox (no API).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        let logger = Logs.bootstrap(settings.logLevel)
        MetricsRegistry.bootstrap()
        let opened = try await GatewayComposition.store(settings)
        let services = GatewayComposition.outbox(settings, store: opened, wakeUp: OutboxWakeUp(), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
