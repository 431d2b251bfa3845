import Hummingbird

/// Answers `HEAD` like `GET` without the body (RFC 9110 §9.3.2), so load balancers and link checkers that
/// probe with it see the real status and headers. It wraps the whole router: routes are found by method,
/// so a middleware inside the router would only ever see `HEAD` as an unknown route.
struct HeadAsGet<Inner: HTTPResponderBuilder>: HTTPResponderBuilder
where Inner.Responder.Context == GatewayRequestContext {
    let inner: Inner

    func buildResponder() -> Responder {
        Responder(inner: inner.buildResponder())
    }

    struct Responder: HTTPResponder {
        typealias Context = GatewayRequestContext
        let inner: Inner.Responder

        func respond(to request: Request, context: Context) async throws -> Response {
            guard request.method == .head else { return try await inner.respond(to: request, context: context) }
            var head = request.head
            head.method = .get
            var response = try await inner.respond(to: Request(head: head, body: request.body), context: context)
            // The GET's length stays in the headers; nothing is written (a streamed export is not even run).
            response.body = ResponseBody(contentLength: response.body.contentLength) { _ in }
            return response
        }
    }
}
