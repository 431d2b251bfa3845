import Hummingbird
import Logging
import ServiceLifecycle
import TakedownService

/// Builds the router and the application; the command line and the tests share this.
public enum GatewayAPI {
    public static func router(gateway: Gateway, settings: APISettings) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        DiscoveryController(gateway: gateway, settings: settings).register(on: router)
        let v1 = router.group("v1").add(middleware: AuthMiddleware(gateway: gateway))
        PartnersController(gateway: gateway, settings: settings).register(on: v1)
        TokensController(gateway: gateway, settings: settings).register(on: v1)
        CasesController(gateway: gateway, settings: settings).register(on: v1)
        NoticesController(gateway: gateway, settings: settings).register(on: v1)
        DeliveriesController(gateway: gateway, settings: settings).register(on: v1)
        StatsController(gateway: gateway, settings: settings).register(on: v1)
        HashListsController(gateway: gateway, settings: settings).register(on: v1)
        HashListDownloadsController(gateway: gateway, settings: settings).register(on: v1)
        SLAPoliciesController(gateway: gateway, settings: settings).register(on: v1)
        VerificationsController(gateway: gateway, settings: settings).register(on: v1)
        return router
    }

    public static func application(
        gateway: Gateway, settings: APISettings, host: String, port: Int, services: [any Service] = [], logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: router(gateway: gateway, settings: settings),
            configuration: .init(address: .hostname(host, port: port), serverName: "takedown-gateway"),
            services: services, logger: logger)
    }
}
