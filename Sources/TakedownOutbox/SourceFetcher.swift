import AsyncHTTPClient
import Foundation
import NIOCore
import TakedownModel

/// Reads one page of a hash-list source: a GET with HTTP Basic credentials, to an address the target guard
/// approved, within a time limit and a size cap, with no redirect followed (a source's page is where its
/// base URL says). Every failure is an error whose text is fit to show staff as the source's last error.
public struct SourceFetcher: Sendable {
    let clients: PinnedClients
    let guardrail: TargetGuard
    let timeout: TimeInterval
    let maxBytes: Int

    public init(timeout: TimeInterval, maxBytes: Int, guard: TargetGuard) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(
            connect: .milliseconds(Int64(min(timeout, 5) * 1000)), read: .milliseconds(Int64(timeout * 1000)))
        clients = PinnedClients(configuration: configuration, capacity: 16)
        guardrail = `guard`
        self.timeout = timeout
        self.maxBytes = maxBytes
    }

    public func shutdown() async {
        await clients.shutdown()
    }

    /// The body of `url` (a 200), or `SourceFetchError`.
    public func get(_ url: String, username: String, password: String) async throws -> [UInt8] {
        guard let parsed = URL(string: url), let host = parsed.host, !host.isEmpty,
            let scheme = parsed.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { throw SourceFetchError("not an http(s) URL") }
        let target: ApprovedTarget
        switch await guardrail.check(host: host, within: timeout) {
        case .approved(let approved): target = approved
        case .refused(let reason): throw SourceFetchError("target refused: \(reason)")
        case .unresolvable(let permanent):
            throw SourceFetchError(permanent ? "\(host) does not exist (DNS)" : "DNS lookup of \(host) failed for now")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/xml")
        request.headers.add(name: "User-Agent", value: "takedown-gateway/1 (hash-list import)")
        request.headers.add(
            name: "Authorization", value: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        let cap = maxBytes
        do {
            return try await clients.withClient(for: target) { client in
                let response = try await client.execute(request, deadline: deadline)
                let status = Int(response.status.code)
                guard status == 200 else { throw SourceFetchError("the source answered HTTP \(status)") }
                if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > cap {
                    throw SourceFetchError("the page is larger than the cap of \(cap) bytes")
                }
                var bytes: [UInt8] = []
                for try await buffer in response.body {
                    guard bytes.count + buffer.readableBytes <= cap else {
                        throw SourceFetchError("the page is larger than the cap of \(cap) bytes")
                    }
                    bytes += buffer.readableBytesView
                }
                return bytes
            }
        } catch let error as SourceFetchError {
            throw error
        } catch {
            throw SourceFetchError(WebhookTransport.describe(error))
        }
    }
}

/// Why a source's page could not be read.
public struct SourceFetchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
