import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TakedownTestSupport

/// A real HTTP receiver on loopback whose answers the test scripts, per path.
final class ScriptedReceiver: Sendable {
    enum Answer: Sendable {
        case status(Int, headers: [String: String] = [:])
        case slow(seconds: Double)
        case redirect(to: String)
    }

    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: Data
        /// The `Host` header (HTTP/1's authority).
        var authority: String?
        /// The sender's port: one port for many requests means one reused connection.
        var peerPort: Int?
    }

    /// Hummingbird's basic context, and the port the request came from.
    struct Context: RequestContext {
        var coreContext: CoreRequestContextStorage
        let peerPort: Int?

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            peerPort = source.channel.remoteAddress?.port
        }
    }

    private let script = Mutex<[String: [Answer]]>([:])
    private let log = Mutex<[Received]>([])
    private let inFlight = Mutex<(now: Int, max: Int)>((0, 0))
    private let cleanups = Mutex<[@Sendable () async -> Void]>([])

    /// Work to do when the receiver stops, even after a failure (shutting HTTP clients down).
    func atEnd(_ cleanup: @escaping @Sendable () async -> Void) {
        cleanups.withLock { $0.append(cleanup) }
    }

    /// Queues answers for a path; once they are used up the path answers 200.
    func script(_ path: String, _ answers: Answer...) {
        script.withLock { $0[path, default: []] += answers }
    }

    var received: [Received] { log.withLock { $0 } }
    func received(_ path: String) -> [Received] { received.filter { $0.path == path } }
    var maxConcurrent: Int { inFlight.withLock { $0.max } }

    func router() -> Router<Context> {
        let router = Router(context: Context.self)
        router.post("hooks/{name}") { request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            let body = try await request.body.collect(upTo: 1 << 22)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = Received(
                path: name, headers: headers, body: Data(body.readableBytesView), authority: request.head.authority,
                peerPort: context.peerPort)
            self.log.withLock { $0.append(received) }
            self.inFlight.withLock { state in
                state.now += 1
                state.max = max(state.max, state.now)
            }
            defer { self.inFlight.withLock { $0.now -= 1 } }
            let answer = self.script.withLock { queue -> Answer in
                guard var answers = queue[name], !answers.isEmpty else { return .status(200) }
                let first = answers.removeFirst()
                queue[name] = answers
                return first
            }
            switch answer {
            case .status(let code, let extra):
                var fields = HTTPFields()
                for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
                return Response(
                    status: .init(code: code), headers: fields,
                    body: .init(byteBuffer: ByteBuffer(string: "answer \(code)")))
            case .slow(let seconds):
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                return Response(status: .ok)
            case .redirect(let target):
                return Response(status: .found, headers: [.location: target])
            }
        }
        return router
    }

    /// Runs `body` with the receiver listening on a loopback address and port (any free one by default).
    func run(
        host: String = "127.0.0.1", port: Int = 0, _ body: @escaping @Sendable (_ baseURL: String) async throws -> Void
    ) async throws {
        var failure: (any Error)?
        do {
            try await LoopbackServer.run({ running in
                Application(
                    router: router(), configuration: .init(address: .hostname(host, port: port)),
                    onServerRunning: running)
            }) { port in
                try await body("http://\(host):\(port)")
            }
        } catch {
            failure = error
        }
        for cleanup in cleanups.withLock({ $0 }) { await cleanup() }
        if let failure { throw failure }
    }
}
