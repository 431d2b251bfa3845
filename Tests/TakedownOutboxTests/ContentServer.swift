import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TakedownTestSupport

/// A local web server standing in for a host that served reported material (synthetic bytes only).
final class ContentServer: Sendable {
    /// The bytes "the case" hashed.
    static let original = Data("synthetic item bytes, not an image".utf8)
    static let replaced = Data("this page has been removed by the host".utf8)

    /// What `/item` answers now; tests switch it between checks.
    enum Item: Sendable { case same, other, gone }
    let item = Mutex<Item>(.same)
    let hits = Mutex<[String]>([])
    /// Every request's path, `Host` header and arrival time.
    let arrivals = Mutex<[Arrival]>([])
    /// Runs before every answer: a test can move its clock as if the request took long.
    let onRequest = Mutex<(@Sendable () async -> Void)?>(nil)

    struct Arrival: Sendable {
        var path: String
        /// The `Host` header (HTTP/1's authority).
        var host: String
        var at: ContinuousClock.Instant
    }

    var port: Int { portBox.withLock { $0 } }
    private let portBox = Mutex(0)

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(HitLog(server: self))
        router.get("same") { _, _ in Self.bytes(Self.original) }
        router.get("other") { _, _ in Self.bytes(Self.replaced) }
        router.get("gone404") { _, _ in Response(status: .notFound) }
        router.get("gone410") { _, _ in Response(status: .gone) }
        router.get("item") { _, _ -> Response in
            switch self.item.withLock({ $0 }) {
            case .same: return Self.bytes(Self.original)
            case .other: return Self.bytes(Self.replaced)
            case .gone: return Response(status: .notFound)
            }
        }
        router.get("redirect/metadata") { _, _ in
            Response(status: .found, headers: [.location: "http://169.254.169.254/latest/meta-data/"])
        }
        router.get("redirect/other-loopback") { _, _ in
            Response(status: .found, headers: [.location: "http://127.0.0.2:\(self.port)/same"])
        }
        router.get("redirect/private") { _, _ in
            Response(status: .movedPermanently, headers: [.location: "http://10.20.30.40/same"])
        }
        router.get("redirect/host/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            return Response(status: .found, headers: [.location: "http://\(name):\(self.port)/same"])
        }
        router.get("stall") { _, _ in
            // Longer than the tests' time limit for a check; answered so the server can stop soon after.
            try await Task.sleep(for: .milliseconds(3000))
            return Self.bytes(Self.original)
        }
        router.get("redirect/same") { _, _ in Response(status: .found, headers: [.location: "/same"]) }
        router.get("redirect/loop") { _, _ in
            Response(status: .temporaryRedirect, headers: [.location: "/redirect/loop"])
        }
        router.get("large/streamed") { _, _ in
            // 64 KiB in 4 KiB chunks, no Content-Length: the cap must stop the stream itself.
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for _ in 0..<16 { try await writer.write(ByteBuffer(repeating: 0x61, count: 4096)) }
                    try await writer.finish(nil)
                })
        }
        router.get("large/declared") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x62, count: 64 * 1024)))
        }
        router.get("slow") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "first bytes"))
                    try await Task.sleep(for: .seconds(4))
                    try await writer.finish(nil)
                })
        }
        return router
    }

    static func bytes(_ data: Data) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs `body` with the server listening on a loopback address and port (any free one by default).
    func run(
        host: String = "127.0.0.1", port: Int = 0, _ body: @escaping @Sendable (_ baseURL: String) async throws -> Void
    ) async throws {
        try await LoopbackServer.run({ running in
            Application(
                router: router(), configuration: .init(address: .hostname(host, port: port)),
                onServerRunning: running)
        }) { port in
            self.portBox.withLock { $0 = port }
            try await body("http://\(host):\(port)")
        }
    }

    /// Records the path of every request, so a test can tell that a refused hop was never contacted.
    struct HitLog: RouterMiddleware {
        let server: ContentServer

        func handle(
            _ request: Request, context: BasicRequestContext,
            next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            server.hits.withLock { $0.append(request.uri.path) }
            let arrival = Arrival(
                path: request.uri.path, host: request.head.authority ?? "",
                at: ContinuousClock.now)
            server.arrivals.withLock { $0.append(arrival) }
            if let hook = server.onRequest.withLock({ $0 }) { await hook() }
            return try await next(request, context)
        }
    }
}
