import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TakedownAPI
import TakedownDocuments
import TakedownModel
import TakedownOutbox
import TakedownPostgres
import TakedownResources
import TakedownSQLite
import TakedownService
import TakedownSigning
import TakedownStore

/// The composition root: builds the store, keys, templates, gateway and HTTP application from settings.
/// The command line, the tests and the benchmark all build through here.
public enum GatewayComposition {
    /// Opens the store the settings name and brings its schema up to date: PostgreSQL when a database URL
    /// is set, SQLite under the data folder otherwise. Call `close(_:)` when done (outside a service group).
    public static func store(_ settings: ServerSettings, logger: Logger = Logger(label: "takedown.store")) async throws
        -> any GatewayStore
    {
        if let url = settings.databaseURL {
            let configuration: PostgresStoreConfiguration
            do {
                configuration = try PostgresStoreConfiguration(url: url, poolSize: settings.databasePoolSize)
            } catch {
                throw SettingsError("TAKEDOWN_DATABASE_URL (\(redacted(url))): \(error)")
            }
            let store = PostgresStore(configuration: configuration, secrets: try secrets(settings), logger: logger)
            do {
                try await store.migrate()
            } catch {
                await store.shutdown()
                throw SettingsError("cannot migrate the database at \(redacted(url)): \(error)")
            }
            return store
        }
        try FileManager.default.createDirectory(
            atPath: settings.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try SQLiteStore(path: settings.databasePath, secrets: try secrets(settings))
        try await store.migrate()
        return store
    }

    /// What seals signing keys, webhook secrets and source credentials in the database: the key of
    /// `TAKEDOWN_SECRETS_KEY` or `TAKEDOWN_SECRETS_KEY_FILE`, else the key folder's, created on first start.
    static func secrets(_ settings: ServerSettings) throws -> StoreSecrets {
        StoreSecrets(box: try secretBox(settings))
    }

    public static func secretBox(_ settings: ServerSettings) throws -> SecretBox {
        if let text = settings.secretsKey { return try SecretBox(encoded: text, origin: "TAKEDOWN_SECRETS_KEY") }
        if let path = settings.secretsKeyFile { return try SecretBox.load(file: path) }
        return try SecretBox.load(directory: settings.keysDirectory)
    }

    /// Closes what a store holds open (PostgreSQL's pool); SQLite needs nothing.
    public static func close(_ store: any GatewayStore) async {
        if let postgres = store as? PostgresStore { await postgres.shutdown() }
    }

    /// Opens the store, runs `body` with it and closes it, also when `body` throws: for commands that
    /// open the store once and end.
    public static func withStore<T>(
        _ settings: ServerSettings, _ body: (any GatewayStore) async throws -> T
    ) async throws -> T {
        let opened = try await store(settings)
        do {
            let result = try await body(opened)
            await close(opened)
            return result
        } catch {
            await close(opened)
            throw error
        }
    }

    /// Services a store needs while the group runs: for PostgreSQL, the pool's owner (first, so it closes
    /// last) and, with an outbox worker, the listener that wakes it on any instance's NOTIFY.
    public static func storeServices(
        _ store: any GatewayStore, wakeUp: OutboxWakeUp?, logger: Logger = Logger(label: "takedown.store")
    ) -> [any Service] {
        if let sqlite = store as? SQLiteStore {
            return [
                RepeatingService("SQLite checkpoints", every: SQLiteStore.checkpointInterval, logger: logger) {
                    try await sqlite.checkpoint()
                }
            ]
        }
        guard let postgres = store as? PostgresStore else { return [] }
        var services: [any Service] = [PostgresStoreService(store: postgres)]
        if let wakeUp { services.append(PostgresOutboxListener(store: postgres) { wakeUp.signal() }) }
        return services
    }

    /// The signing keys in the store, with a first key made when there is none. A store without keys beside
    /// a key folder that has some (a gateway from before keys moved into the store) takes them in first, so
    /// its notices still verify.
    public static func keys(
        _ settings: ServerSettings, store: any GatewayStore, now: Date = Date(),
        logger: Logger = Logger(label: "takedown.keys")
    ) async throws -> KeyRing {
        do {
            if try await store.signingKeys().isEmpty, let folder = try legacyKeyFolder(settings), !folder.keys.isEmpty {
                let imported = try await SigningKeys.importFolder(folder, into: store, at: now)
                logger.notice(
                    "moved the key folder's signing keys into the store",
                    metadata: ["keys": "\(imported.count)", "folder": "\(settings.keysDirectory.path)"])
            }
            return try await SigningKeys.ensure(store, at: now)
        } catch SecretBoxError.cannotOpen {
            throw SettingsError(
                "the signing keys in the store do not open with the secrets key \(try secretBox(settings).path): every instance must use the same TAKEDOWN_SECRETS_KEY"
            )
        }
    }

    /// The key folder of an earlier version, when it holds key files.
    public static func legacyKeyFolder(_ settings: ServerSettings) throws -> KeyFolder? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: settings.keysDirectory.path)) ?? []
        guard names.contains(where: { $0.hasSuffix(".key.json") }) else { return nil }
        return try KeyFolder(directory: settings.keysDirectory)
    }

    public static func gateway(
        _ settings: ServerSettings, store: any GatewayStore, clock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger, onEnqueue: @escaping @Sendable () -> Void = {}
    ) async throws -> Gateway {
        try settings.validate()
        let templates = try await settings.noticeTemplates()
        var configuration = GatewayConfiguration(
            publicURL: settings.resolvedPublicURL, issuer: settings.issuer,
            defaultDeadline: settings.defaultDeadlineHours * 3600)
        configuration.emailFrom = settings.smtp?.from
        configuration.ladder = settings.ladder
        configuration.hashLists = settings.hashLists
        configuration.retiredKeyPublication = settings.retiredKeyPublication
        if let origin = settings.logOrigin { configuration.logOrigin = origin }
        configuration.verifyInterval = settings.verification.interval
        configuration.dnsTimeout = settings.dnsTimeout
        if let server = settings.dnsServer {
            configuration.hostResolver = CachingResolver(
                DNSResolver(server: server.address, port: server.port, timeout: settings.dnsTimeout))
        }
        configuration.rdap = try rdap(settings, clock: clock)
        configuration.rdapTimeout = settings.rdapTimeout * 2
        let outbox = settings.outbox
        configuration.peerDocuments = { address in
            // Keys are fetched rarely (a peer registered or refreshed): one client per fetch, shut down after.
            let client = WebhookTransport(
                timeout: outbox.requestTimeout, allowPrivateTargets: outbox.allowPrivateTargets,
                allowedTargets: outbox.allowedTargets, connectionsPerHost: 1)
            do {
                let data = try await client.fetch(address)
                try await client.shutdown()
                return data
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
        configuration.webhookProbe = { probe in
            // As the outbox sends: the same address guard, time limit and Standard Webhooks signature.
            let client = WebhookTransport(
                timeout: outbox.requestTimeout, allowPrivateTargets: outbox.allowPrivateTargets,
                allowedTargets: outbox.allowedTargets, connectionsPerHost: 1)
            let now = clock()
            let test = Delivery(
                noticeId: NoticeID(rawValue: "ntc_webhook_test"), partnerId: PartnerID(rawValue: "ptn_webhook_test"),
                channel: .webhook, endpoint: probe.url, eventType: PartnerDesk.webhookTestEvent, eventId: probe.eventId,
                payload: probe.payload, nextAttemptAt: now, createdAt: now, updatedAt: now)
            let result = await client.send(test, secrets: probe.secrets, now: now)
            try? await client.shutdown()
            return WebhookProbe.Result(succeeded: result.succeeded, statusCode: result.statusCode, error: result.error)
        }
        let gateway = Gateway(
            store: store, keys: try await keys(settings, store: store, now: clock(), logger: logger),
            templates: templates,
            configuration: configuration,
            clock: clock, logger: logger, onEnqueue: onEnqueue)
        if let token = settings.bootstrapAdminToken { try await gateway.tokenDesk.bootstrapAdmin(secret: token) }
        return gateway
    }

    /// The RDAP client of `TAKEDOWN_RDAP_BOOTSTRAP` and `TAKEDOWN_RDAP_URL`; nil when neither is set. A
    /// bootstrap file that cannot be read or parsed stops the start, naming it.
    static func rdap(_ settings: ServerSettings, clock: @escaping @Sendable () -> Date) throws -> RDAPClient? {
        guard !settings.rdapBootstrapFiles.isEmpty || settings.rdapURL != nil else { return nil }
        let bootstrap: RDAPBootstrap
        if settings.rdapBootstrapFiles.isEmpty {
            bootstrap = RDAPBootstrap(baseURL: settings.rdapURL!)
        } else {
            var files: [Data] = []
            for path in settings.rdapBootstrapFiles {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw SettingsError("TAKEDOWN_RDAP_BOOTSTRAP: cannot read \(path)")
                }
                files.append(data)
            }
            do {
                bootstrap = try RDAPBootstrap(files: files, fallback: settings.rdapURL)
            } catch {
                throw SettingsError("TAKEDOWN_RDAP_BOOTSTRAP: \(error)")
            }
        }
        return RDAPClient(
            bootstrap: bootstrap, timeout: settings.rdapTimeout,
            allowPrivateTargets: settings.outbox.allowPrivateTargets,
            allowedTargets: settings.outbox.allowedTargets, clock: clock)
    }

    public static func apiSettings(_ settings: ServerSettings, store: (any GatewayStore)? = nil) throws -> APISettings {
        var api = APISettings(maxBodyBytes: settings.maxBodyBytes, openAPIDocument: BundledFiles.openAPI)
        if let store {
            api.metrics = { await MetricsRegistry.exposition(store: store, now: Date()) }
        }
        api.metricsToken = settings.metricsToken
        api.readTimeout = .milliseconds(Int64(settings.readTimeout * 1000))
        api.rateLimits = settings.rateLimits
        api.heavyRequests = HeavyRequestLimiter(perCaller: settings.maxHeavyPerCaller)
        api.console = try ConsolePages(
            files: BundledFiles.folder("Templates/console"), publicURL: settings.publicURL.flatMap(URL.init(string:)))
        return api
    }

    /// The outbox worker, the lease rescuer and the shutdown of the transport they send through.
    public static func outbox(
        _ settings: ServerSettings, store: any GatewayStore, wakeUp: OutboxWakeUp,
        clock: @escaping @Sendable () -> Date = Date.init, logger: Logger
    ) -> [any Service] {
        let webhooks = WebhookTransport(
            timeout: settings.outbox.requestTimeout, allowPrivateTargets: settings.outbox.allowPrivateTargets,
            allowedTargets: settings.outbox.allowedTargets)
        var transports: [DeliveryChannel: any DeliveryTransport] = [.webhook: webhooks, .referral: webhooks]
        if let relay = settings.smtp {
            transports[.email] = SMTPTransport(
                relay: relay, timeout: settings.outbox.requestTimeout,
                allowPrivateTargets: settings.outbox.allowPrivateTargets, allowedTargets: settings.outbox.allowedTargets
            )
        }
        let worker = OutboxWorker(
            store: store, transports: transports, configuration: settings.outbox, wakeUp: wakeUp, clock: clock,
            logger: logger)
        let rescuer = LeaseRescuer(store: store, interval: settings.outbox.rescueInterval, clock: clock, logger: logger)
        return [worker, rescuer, ClientShutdown(transport: webhooks)]
    }

    /// The loops that act on stored clocks: the escalation ladder (and police holds past their end), URL verification, hash-list publishing
    /// and compaction, and the pulls of hash-list sources. Each is safe when every instance runs it.
    public static func clocks(
        _ settings: ServerSettings, gateway: Gateway, clock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger
    ) -> [any Service] {
        let ladder: [any Service] = [
            RepeatingService("escalation ladder", every: settings.ladderInterval, logger: logger) {
                try await gateway.noticeDesk.climbLadder()
                try await gateway.holdDesk.escalateOverdueHolds()
            },
            RepeatingService("hash-list publishing", every: settings.hashListInterval, logger: logger) {
                try await gateway.hashListDesk.maintainHashLists()
            },
            RepeatingService("referral status updates", every: settings.referralReportInterval, logger: logger) {
                try await gateway.referralDesk.reportReferrals()
            },
            RepeatingService("log checkpoints", every: settings.logCheckpointInterval, logger: logger) {
                try await gateway.logDesk.checkpoint()
            },

            HashListImportWorker(store: gateway.store, configuration: settings.imports, clock: clock, logger: logger),
        ]
        guard settings.runsVerification else { return ladder }
        return ladder + [
            VerificationWorker(store: gateway.store, configuration: settings.verification, clock: clock, logger: logger)
        ]
    }

    /// Reads the signing keys again from the store every `TAKEDOWN_KEY_REFRESH_SECONDS`, on every instance
    /// that signs: a rotation made anywhere signs everywhere without a restart.
    public static func keyRefresh(_ settings: ServerSettings, gateway: Gateway, logger: Logger) -> any Service {
        RepeatingService("signing keys", every: settings.keyRefreshInterval, logger: logger) {
            try await gateway.refreshKeys()
        }
    }

    /// The whole server, API and outbox workers, ready for `runService()`.
    public static func application(_ settings: ServerSettings, logger: Logger) async throws -> some ApplicationProtocol
    {
        MetricsRegistry.bootstrap()
        let store = try await store(settings)
        let wakeUp = OutboxWakeUp()
        let gateway = try await gateway(settings, store: store, logger: logger, onEnqueue: { wakeUp.signal() })
        var services = storeServices(store, wakeUp: settings.runsOutbox ? wakeUp : nil, logger: logger)
        services.append(keyRefresh(settings, gateway: gateway, logger: logger))
        if settings.runsOutbox {
            services += outbox(settings, store: store, wakeUp: wakeUp, logger: logger)
            services += clocks(settings, gateway: gateway, logger: logger)
        }
        if let address = settings.metricsAddress {
            services.append(
                GatewayAPI.metricsApplication(
                    metrics: { await MetricsRegistry.exposition(store: store, now: Date()) }, host: address.host,
                    port: address.port,
                    limits: .init(idleTimeout: .milliseconds(Int64(settings.idleTimeout * 1000))), logger: logger))
        }
        return GatewayAPI.application(
            gateway: gateway, settings: try apiSettings(settings, store: store), host: settings.host,
            port: settings.port,
            limits: .init(
                idleTimeout: .milliseconds(Int64(settings.idleTimeout * 1000)), maxConnections: settings.maxConnections),
            services: services, logger: logger)
    }

    /// A database URL with its password masked, for messages.
    public static func redacted(_ url: String) -> String {
        DatabaseURL.redacted(url)
    }
}

/// Shuts the webhook client down once the service group stops.
struct ClientShutdown: Service {
    let transport: WebhookTransport

    func run() async throws {
        try? await gracefulShutdown()
        try await transport.shutdown()
    }
}
