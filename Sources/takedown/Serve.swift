import ArgumentParser
import Foundation
import Hummingbird
import TakedownServer

/// Runs the API (and, later, the workers) in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default subcommand).")

    @Option(help: "Address to listen on (TAKEDOWN_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (TAKEDOWN_PORT, default 8080).") var port: Int?
    @Flag(
        inversion: .prefixedNo,
        help:
            "Run the outbox worker in this process (TAKEDOWN_OUTBOX_WORKER=0 turns it off; run `takedown worker` elsewhere)."
    )
    var outbox = true
    @OptionGroup var store: StoreOptions

    func run() async throws {
        var settings = try store.settings()
        if let host { settings.host = host }
        if let port { settings.port = port }
        let logger = Logs.bootstrap(settings.logLevel)
        if ProcessInfo.processInfo.environment["TAKEDOWN_OUTBOX_WORKER"] == "0" { settings.runsOutbox = false }
        if !outbox { settings.runsOutbox = false }
        let app = try await GatewayComposition.application(settings, logger: logger)
        logger.notice(
            "takedown gateway starting",
            metadata: [
                "address": "\(settings.host):\(settings.port)", "data_dir": "\(settings.dataDirectory)",
                "database": "\(settings.databaseURL.map(GatewayComposition.redacted) ?? "sqlite")",
                "public_url": "\(settings.resolvedPublicURL)",
            ])
        try await app.runService()
    }
}
