import HTTPTypes
import Hummingbird
import Logging

/// Turns every error thrown below it (unknown routes included) into `application/problem+json`,
/// logs each request once with its id, and echoes that id in `x-request-id`.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var problem = Problem(for: error, logger: context.logger)
            problem.instance = request.uri.path
            problem.requestId = context.id
            var headers = (error as? APIError)?.headers ?? [:]
            if problem.status == 401 {
                headers[.wwwAuthenticate] =
                    NCMECController.isDialect(request.uri.path)
                    ? #"Basic realm="hash sharing", charset="UTF-8""# : "Bearer"
            }
            response = problem.response(extraHeaders: headers)
        }
        response.headers[HTTPField.Name("x-request-id")!] = context.id
        let elapsed = ContinuousClock.now - started
        // The path only: query strings may carry cursors, never secrets, but keep the log lean.
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                "client": "\(context.clientAddress)", "actor": "\(context.note.actor ?? "-")",
                "ms": "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
            ])
        return response
    }
}
