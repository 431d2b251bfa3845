import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import TakedownService

/// Builds the router and the application; the command line and the tests share this.
public enum GatewayAPI {
    public static func router(gateway: Gateway, settings: APISettings) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: RateLimitMiddleware(settings: settings))
        DiscoveryController(gateway: gateway, settings: settings).register(on: router)
        let log = LogController(
            logDesk: gateway.logDesk, noticeDesk: gateway.noticeDesk, hashListDesk: gateway.hashListDesk,
            referralDesk: gateway.referralDesk)
        log.registerPublic(on: router)
        let referrals = ReferralsController(referralDesk: gateway.referralDesk, settings: settings)
        referrals.registerPeerRoutes(on: router.group("v1"))
        let v1 = router.group("v1").add(middleware: AuthMiddleware(tokenDesk: gateway.tokenDesk, settings: settings))
            .add(middleware: AuditMiddleware(auditDesk: gateway.auditDesk, settings: settings))
        PartnersController(
            partnerDesk: gateway.partnerDesk, tokenDesk: gateway.tokenDesk, deliveryDesk: gateway.deliveryDesk,
            settings: settings
        ).register(on: v1)
        PartnerStatusController(partnerDesk: gateway.partnerDesk, settings: settings).register(on: v1)
        TokensController(tokenDesk: gateway.tokenDesk, partnerDesk: gateway.partnerDesk, settings: settings).register(
            on: v1)
        CasesController(caseDesk: gateway.caseDesk, settings: settings).register(on: v1)
        NoticesController(noticeDesk: gateway.noticeDesk, settings: settings).register(on: v1)
        DeliveriesController(deliveryDesk: gateway.deliveryDesk, settings: settings).register(on: v1)
        StatsController(figureDesk: gateway.figureDesk, settings: settings).register(on: v1)
        HashListsController(hashListDesk: gateway.hashListDesk, settings: settings).register(on: v1)
        HashListDownloadsController(hashListDesk: gateway.hashListDesk, settings: settings).register(on: v1)
        NCMECController(hashListDesk: gateway.hashListDesk, settings: settings).register(on: v1)
        HashListSourcesController(hashListDesk: gateway.hashListDesk, settings: settings).register(on: v1)
        SLAPoliciesController(slaPolicyDesk: gateway.slaPolicyDesk, settings: settings).register(on: v1)
        VerificationsController(slaPolicyDesk: gateway.slaPolicyDesk, settings: settings).register(on: v1)
        AuditController(auditDesk: gateway.auditDesk, settings: settings).register(on: v1)
        HoldsController(holdDesk: gateway.holdDesk, settings: settings).register(on: v1)
        referrals.register(on: v1)
        log.register(on: v1)
        if let pages = settings.console {
            ConsoleRoutes(gateway: gateway, pages: pages, settings: settings).register(on: router)
        }
        return router
    }

    /// Limits of the HTTP server itself.
    public struct ServerLimits: Sendable {
        /// An idle or too slow connection is closed after this long.
        public var idleTimeout: Duration = .seconds(60)
        /// Connections served at once; further ones wait in the listen queue.
        public var maxConnections = 4_096

        public init(idleTimeout: Duration = .seconds(60), maxConnections: Int = 4_096) {
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
        }
    }

    public static func application(
        gateway: Gateway, settings: APISettings, host: String, port: Int, limits: ServerLimits = .init(),
        services: [any Service] = [], logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: HeadAsGet(inner: router(gateway: gateway, settings: settings)),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ProtocolGuardHandler()], idleTimeout: .init(limits.idleTimeout))),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "takedown-gateway",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            services: services, logger: logger)
    }

    /// `/metrics` alone, without a token, for a listener on an address only the scraper reaches.
    public static func metricsApplication(
        metrics: @escaping @Sendable () async -> String, host: String, port: Int, limits: ServerLimits = .init(),
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: await metrics())))
        }
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ProtocolGuardHandler()], idleTimeout: .init(limits.idleTimeout))),
            configuration: .init(address: .hostname(host, port: port), serverName: "takedown-gateway-metrics"),
            logger: logger)
    }
}
