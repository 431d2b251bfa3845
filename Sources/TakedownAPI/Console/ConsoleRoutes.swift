import Foundation
import Hummingbird
import TakedownModel
import TakedownService

/// `/console`: the pages for analysts, providers and liaisons, on the same rules as the API.
struct ConsoleRoutes {
    let gateway: Gateway
    let pages: ConsolePages
    let settings: APISettings

    func register(on router: Router<GatewayRequestContext>) {
        let sessions = ConsoleSessions(gateway: gateway)
        let console = router.group("console")
            .add(middleware: ConsoleMiddleware(sessions: sessions, pages: pages, settings: settings))
            .add(middleware: AuditMiddleware(auditDesk: gateway.auditDesk, settings: settings))
        console.get("", use: home)
        console.get("static/{name}", use: asset)
        let signIn = ConsoleSignInController(sessions: sessions, pages: pages, settings: settings)
        console.get("sign-in", use: signIn.form)
        console.post("sign-in", use: signIn.signIn)
        console.post("sign-out", use: signIn.signOut)
        ConsoleStaffController(
            noticeDesk: gateway.noticeDesk, partnerDesk: gateway.partnerDesk, deliveryDesk: gateway.deliveryDesk,
            holdDesk: gateway.holdDesk, referralDesk: gateway.referralDesk, figureDesk: gateway.figureDesk, pages: pages
        ).register(on: console)
        ConsoleCaseController(
            caseDesk: gateway.caseDesk, holdDesk: gateway.holdDesk, noticeDesk: gateway.noticeDesk,
            partnerDesk: gateway.partnerDesk, pages: pages
        ).register(on: console)
        ConsoleNoticeController(
            noticeDesk: gateway.noticeDesk, partnerDesk: gateway.partnerDesk, deliveryDesk: gateway.deliveryDesk,
            slaPolicyDesk: gateway.slaPolicyDesk, pages: pages
        ).register(on: console)
        ConsoleProviderController(
            noticeDesk: gateway.noticeDesk, partnerDesk: gateway.partnerDesk, deliveryDesk: gateway.deliveryDesk,
            figureDesk: gateway.figureDesk, pages: pages
        ).register(on: console)
        ConsoleListsController(
            hashListDesk: gateway.hashListDesk, partnerDesk: gateway.partnerDesk, pages: pages, settings: settings
        ).register(on: console)
    }

    /// Each role's first page.
    @Sendable func home(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let principal = context.principal else { return ConsolePages.redirect("/console/sign-in") }
        return ConsolePages.redirect(try await Self.homePath(of: principal, gateway))
    }

    static func homePath(of principal: Principal, _ gateway: Gateway) async throws -> String {
        guard let partner = principal.partnerID else { return "/console/dashboard" }
        return try await gateway.partnerDesk.partner(partner).kind == .lawEnforcement
            ? "/console/lists" : "/console/inbox"
    }

    @Sendable func asset(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let name = context.parameters.get("name"),
            let response = pages.asset(name, ifNoneMatch: request.headers[.ifNoneMatch])
        else { throw APIError.notFound("no such file") }
        return response
    }
}

/// Sign-in with a token, once, for a session; sign-out ends it on the server.
struct ConsoleSignInController {
    let sessions: ConsoleSessions
    let pages: ConsolePages
    let settings: APISettings

    struct Form {
        var csrf: String
        var error: String?
    }

    /// The sign-in form, with a fresh CSRF value in a cookie of its own (there is no session yet).
    @Sendable func form(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if context.consoleSession != nil, let principal = context.principal {
            return ConsolePages.redirect(try await ConsoleRoutes.homePath(of: principal, sessions.gateway))
        }
        return signInPage(error: nil, status: .ok, context: context)
    }

    private func signInPage(error: String?, status: HTTPResponse.Status, context: GatewayRequestContext) -> Response {
        let csrf = ConsoleSessions.randomText()
        var response = pages.html(
            pages.render("sign-in", ["chrome": ["title": "Sign in"], "page": Form(csrf: csrf, error: error)]),
            status: status)
        response.setCookie(pages.cookie(ConsolePages.signInCookie, csrf, maxAge: 3600))
        return response
    }

    @Sendable func signIn(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let token = context.form?["token"], token.utf8.count < 200 else {
            return signInPage(error: "Enter your API token.", status: .unprocessableContent, context: context)
        }
        guard let opened = try await sessions.open(token: token) else {
            // Charged like a wrong bearer token, so guessing here is as slow as there.
            _ = try RateLimitMiddleware.charge(anonymous: context.clientAddress, settings)
            return signInPage(
                error: "That token is not valid: it may be mistyped, revoked or expired.", status: .unauthorized,
                context: context)
        }
        var response = ConsolePages.redirect(try await ConsoleRoutes.homePath(of: opened.principal, sessions.gateway))
        response.setCookie(
            pages.cookie(ConsolePages.sessionCookie, opened.cookie, maxAge: Int(ConsoleSession.lifetime)))
        response.setCookie(pages.cookie(ConsolePages.signInCookie, "", maxAge: 0))
        return response
    }

    @Sendable func signOut(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if let cookie = request.cookies[ConsolePages.sessionCookie]?.value {
            try await sessions.close(cookie: cookie)
        }
        var response = ConsolePages.redirect("/console/sign-in")
        response.setCookie(pages.cookie(ConsolePages.sessionCookie, "", maxAge: 0))
        return response
    }
}
