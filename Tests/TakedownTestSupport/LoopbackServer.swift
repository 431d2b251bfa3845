import Hummingbird
import NIOCore
import ServiceLifecycle

/// Runs a Hummingbird application until `body` returns, listening on exactly the address it was built
/// with (HummingbirdTesting's live mode always binds `localhost` on a free port, and a test of where
/// requests go needs two servers on one port, on 127.0.0.1 and 127.0.0.2).
public enum LoopbackServer {
    public struct NotStarted: Error {}

    /// `build` makes the application, handing the given callback to `Application(onServerRunning:)`.
    public static func run<App: ApplicationProtocol>(
        _ build: (_ onServerRunning: @escaping @Sendable (any Channel) async -> Void) -> App,
        _ body: @Sendable (_ port: Int) async throws -> Void
    ) async throws {
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = build { channel in
            announce.yield(channel.localAddress?.port ?? 0)
            announce.finish()
        }
        let services = ServiceGroup(configuration: .init(services: [app], logger: app.logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { announce.finish() }  // a server that failed to bind announces nothing
                try await services.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.waitForAll()
                throw NotStarted()
            }
            do {
                try await body(port)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
