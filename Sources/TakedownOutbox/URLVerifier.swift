import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import TakedownModel

/// Fetches an item's URL once, within bounds: a time limit for the whole chain, a size cap, redirects
/// followed here (never by the client) with every hop resolved and checked by the target guard and
/// connected to the address it approved. The body is hashed as it streams (md5, sha1, sha256) and
/// dropped; nothing of it is kept.
public struct URLVerifier: Sendable {
    let clients: PinnedClients
    let configuration: VerificationConfiguration
    let guardrail: TargetGuard

    /// `resolver` answers the guard's lookups (the system's resolver unless a test scripts one).
    public init(configuration: VerificationConfiguration, resolver: any HostResolver = SystemResolver()) {
        var client = HTTPClient.Configuration()
        client.redirectConfiguration = .disallow
        client.decompression = .disabled
        client.timeout = .init(
            connect: .milliseconds(Int64(min(configuration.timeout, 5) * 1000)),
            read: .milliseconds(Int64(configuration.timeout * 1000)))
        clients = PinnedClients(configuration: client, capacity: 64)
        self.configuration = configuration
        guardrail = TargetGuard(
            allowPrivate: configuration.allowPrivateTargets, allowed: configuration.allowedTargets, resolver: resolver)
    }

    public func shutdown() async throws {
        await clients.shutdown()
    }

    /// One bounded fetch; never throws, every failure is part of the result.
    public func fetch(_ url: String) async -> URLFetch {
        let limit = configuration.timeout
        return await withTaskGroup(of: URLFetch?.self) { group in
            group.addTask { await self.follow(url) }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(limit * 1000)))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? URLFetch(status: nil, digests: nil, failure: .timedOut, redirects: 0, finalURL: url)
        }
    }

    /// What one request of the chain came to: the end, or a redirect to follow.
    enum Hop {
        case finished(status: Int, digests: Hashes?, failure: URLFetch.Failure?)
        case redirect(status: Int, location: String)
    }

    /// Requests `url`, following at most `maxRedirects` redirects by hand.
    func follow(_ url: String) async -> URLFetch {
        var current = url
        var redirects = 0
        func result(_ status: Int?, _ digests: Hashes? = nil, _ failure: URLFetch.Failure? = nil) -> URLFetch {
            URLFetch(status: status, digests: digests, failure: failure, redirects: redirects, finalURL: current)
        }
        while true {
            // The host as async-http-client reads it from the URL, so the pin matches its lookup key.
            guard let parsed = URL(string: current), let host = parsed.host, !host.isEmpty,
                let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https"
            else { return result(nil, nil, .other("not an http(s) URL")) }
            let target: ApprovedTarget
            switch await guardrail.check(host: host) {
            case .approved(let approved): target = approved
            case .refused(let reason): return result(nil, nil, .refused(reason))
            case .unresolvable(permanent: true): return result(nil, nil, .nameNotFound)
            case .unresolvable(permanent: false): return result(nil, nil, .other("DNS lookup failed for now"))
            }
            do {
                switch try await clients.withClient(for: target, { try await request(current, with: $0) }) {
                case .finished(let status, let digests, let failure):
                    return result(status, digests, failure)
                case .redirect(let status, let location):
                    guard redirects < configuration.maxRedirects else {
                        return result(status, nil, .tooManyRedirects(limit: configuration.maxRedirects))
                    }
                    guard let next = URL(string: location, relativeTo: parsed)?.absoluteString else {
                        return result(status, nil, .other("a redirect to an unusable Location"))
                    }
                    redirects += 1
                    current = next
                }
            } catch is CancellationError {
                return result(nil, nil, .timedOut)
            } catch {
                return result(nil, nil, Self.failure(error))
            }
        }
    }

    /// One GET of `url` on a client pinned to its approved address; the body is hashed here.
    func request(_ url: String, with client: HTTPClient) async throws -> Hop {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "takedown-gateway/1 (removal verification)")
        request.headers.add(name: "Accept", value: "*/*")
        let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.timeout * 1000)))
        let status = Int(response.status.code)
        if [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "Location") {
            return .redirect(status: status, location: location)
        }
        guard (200...299).contains(status) else { return .finished(status: status, digests: nil, failure: nil) }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init),
            length > configuration.maxBytes
        {
            return .finished(status: status, digests: nil, failure: .tooLarge(limit: configuration.maxBytes))
        }
        guard let digests = try await Self.digest(response.body, cap: configuration.maxBytes) else {
            return .finished(status: status, digests: nil, failure: .tooLarge(limit: configuration.maxBytes))
        }
        return .finished(status: status, digests: digests, failure: nil)
    }

    /// md5, sha1 and sha256 of a streamed body, or nil once it passes `cap` bytes.
    static func digest(_ body: HTTPClientResponse.Body, cap: Int) async throws -> Hashes? {
        var md5 = Insecure.MD5()
        var sha1 = Insecure.SHA1()
        var sha256 = SHA256()
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > cap { return nil }
            buffer.withUnsafeReadableBytes { bytes in
                md5.update(bufferPointer: bytes)
                sha1.update(bufferPointer: bytes)
                sha256.update(bufferPointer: bytes)
            }
        }
        return Hashes(
            md5: Hex.encode(md5.finalize()), sha1: Hex.encode(sha1.finalize()), sha256: Hex.encode(sha256.finalize()))
    }

    static func failure(_ error: any Error) -> URLFetch.Failure {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return .timedOut
            case .cancelled: return .timedOut
            default: return .other("HTTP client error: \(error)")
            }
        }
        return .other("\(error)")
    }
}
