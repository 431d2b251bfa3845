import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TakedownModel
import TakedownService

/// Everything under `/console` passes here: the session cookie becomes the caller (checked as a bearer
/// token would be, partner suspension and revocation included), every form's CSRF token is checked
/// before its handler runs, every answer carries the console's security headers, and every error becomes
/// a page.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let sessions: ConsoleSessions
    let pages: ConsolePages
    let settings: APISettings

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        do {
            response = try await authorised(request, context: context, next: next)
        } catch {
            response = pages.error(error, path: request.uri.path, signedIn: context.consoleSession != nil, context)
        }
        ConsolePages.secure(&response.headers)
        return response
    }

    private func authorised(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let cookie = request.cookies[ConsolePages.sessionCookie]?.value,
            let (session, principal) = try await sessions.resume(cookie: cookie)
        {
            context.consoleSession = session
            context.principal = principal
            context.logger[metadataKey: "actor"] = "\(principal.actor)"
            context.note.actor = principal.actor
            if let limit = settings.rateLimits.limit(for: principal) {
                _ = try RateLimitMiddleware.charge("token:\(principal.tokenID)", limit, settings)
            }
        }
        guard request.method == .post else { return try await next(request, context) }

        let body = try await BodyReader.collect(request, limit: settings.maxBodyBytes, timeout: settings.readTimeout)
        guard let form = ConsoleForm(body: body.readableBytesView) else {
            throw APIError.badRequest("the form could not be read; reload the page and send it again")
        }
        let expected =
            context.consoleSession?.csrfToken ?? request.cookies[ConsolePages.signInCookie]?.value
        guard let expected, let sent = form["csrf"], Self.same(sent, expected) else {
            throw APIError.forbidden(
                "this form has expired or did not come from this console; reload the page and send it again")
        }
        context.form = form
        var request = request
        // The audit entry keeps the form without its CSRF token.
        let kept = form.fields.filter { $0.name != "csrf" && $0.name != "token" }
        request.body = .init(buffer: ByteBuffer(string: ConsolePages.encode(kept)))
        return try await next(request, context)
    }

    /// Equal, in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
