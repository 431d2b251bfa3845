import AsyncHTTPClient
import Foundation
import NIOCore

/// A pooled HTTP/1.1 client sized for the load (the default pool has only 8 connections per host).
struct BenchClient: Sendable {
    let client: HTTPClient
    let baseURL: String

    /// `followRedirects` off lets a caller see a 303 and its cookies (the console's sign-in).
    init(baseURL: String, connections: Int, followRedirects: Bool = true) {
        var configuration = HTTPClient.Configuration()
        if !followRedirects { configuration.redirectConfiguration = .disallow }
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(connections, 8))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL
    }

    struct Answer {
        var status: UInt
        var body: Data
    }

    func request(
        _ method: String, _ path: String, token: String? = nil, json: Data? = nil, timeout: TimeAmount = .seconds(30)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: response.status.code, body: Data(body.readableBytesView))
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// Runs `body` with a new client and shuts the client down however `body` ends (a client dropped
    /// without it stops the process, hiding the error that ended `body`).
    static func with<T>(
        _ baseURL: String, connections: Int, followRedirects: Bool = true, _ body: (BenchClient) async throws -> T
    ) async throws -> T {
        let client = BenchClient(baseURL: baseURL, connections: connections, followRedirects: followRedirects)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
