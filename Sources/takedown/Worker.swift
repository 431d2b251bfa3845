import ArgumentParser
import Logging
import ServiceLifecycle
import TakedownOutbox
import TakedownServer
import TakedownService

/// Runs the outbox worker, the lease rescuer, the escalation ladder, URL verification and hash-list
/// publishing, beside gateways that serve the API with `--no-outbox`.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver notices from the outbox, run the escalation ladder and verify removals (no API).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        let logger = Logs.bootstrap(settings.logLevel)
        MetricsRegistry.bootstrap()
        let opened = try await GatewayComposition.store(settings)
        let wakeUp = OutboxWakeUp()
        // The ladder needs the gateway (templates for reminder mail); the outbox only the store.
        let gateway = try await GatewayComposition.gateway(
            settings, store: opened, logger: logger, onEnqueue: { wakeUp.signal() })
        let services =
            GatewayComposition.storeServices(opened, wakeUp: wakeUp, logger: logger)
            + GatewayComposition.outbox(settings, store: opened, wakeUp: wakeUp, logger: logger)
            + GatewayComposition.clocks(settings, gateway: gateway, logger: logger)
            + [GatewayComposition.keyRefresh(settings, gateway: gateway, logger: logger)]
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
