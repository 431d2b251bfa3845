import Crypto
import Foundation
import Synchronization
import TakedownModel
import TakedownOutbox
import Testing

/// The verification transport against a real local server. The guard allows exactly 127.0.0.1 (not
/// every private address), so a redirect elsewhere is refused by the guard, not by a failed connection.
@Suite("URL verification transport")
struct URLVerifierTests {
    static func hex(_ digest: some Sequence<UInt8>) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// The case's hashes of the original bytes.
    static let caseHashes = Hashes(
        md5: hex(Insecure.MD5.hash(data: ContentServer.original)),
        sha1: hex(Insecure.SHA1.hash(data: ContentServer.original)),
        sha256: hex(SHA256.hash(data: ContentServer.original)))

    static func configuration(timeout: TimeInterval = 5) -> VerificationConfiguration {
        var configuration = VerificationConfiguration()
        configuration.timeout = timeout
        configuration.maxBytes = 16 * 1024
        configuration.maxRedirects = 2
        configuration.allowedTargets = [IPRange("127.0.0.1/32")!]
        return configuration
    }

    /// Fetches `path` from a fresh server and judges it against the case's hashes.
    static func check(_ path: String, timeout: TimeInterval = 5, hashes: Hashes = caseHashes) async throws -> (
        URLFetch, VerificationOutcome, String?, [String]
    ) {
        try await timedCheck(path, timeout: timeout, hashes: hashes).result
    }

    /// `check`, with how long the fetch itself took (the server's shutdown not included).
    static func timedCheck(_ path: String, timeout: TimeInterval = 5, hashes: Hashes = caseHashes) async throws -> (
        result: (URLFetch, VerificationOutcome, String?, [String]), took: Duration
    ) {
        let server = ContentServer()
        let verifier = URLVerifier(configuration: configuration(timeout: timeout))
        let fetched = Mutex<(URLFetch, Duration)?>(nil)
        do {
            try await server.run { base in
                let started = ContinuousClock.now
                let result = await verifier.fetch(base + path)
                fetched.withLock { $0 = (result, ContinuousClock.now - started) }
            }
        } catch {
            try await verifier.shutdown()
            throw error
        }
        try await verifier.shutdown()
        let (fetch, took) = try #require(fetched.withLock { $0 })
        let (outcome, error) = fetch.judged(against: hashes)
        return ((fetch, outcome, error, server.hits.withLock { $0 }), took)
    }

    @Test("the same bytes are still served; the hashes are computed from the streamed body")
    func same() async throws {
        let (fetch, outcome, error, _) = try await Self.check("/same")
        #expect(fetch.status == 200)
        #expect(fetch.digests == Self.caseHashes)
        #expect(outcome == .stillServed)
        #expect(error == nil)
    }

    @Test("different bytes count as removed")
    func different() async throws {
        let (fetch, outcome, _, _) = try await Self.check("/other")
        #expect(fetch.status == 200)
        #expect(fetch.digests?.sha256 == Self.hex(SHA256.hash(data: ContentServer.replaced)))
        #expect(outcome == .contentChanged)
    }

    @Test("404 and 410 are gone", arguments: [("/gone404", 404), ("/gone410", 410)])
    func gone(_ path: String, _ status: Int) async throws {
        let (fetch, outcome, _, _) = try await Self.check(path)
        #expect(fetch.status == status)
        #expect(outcome == .gone)
    }

    @Test(
        "a redirect to a private, link-local or other loopback address is refused before it is contacted",
        arguments: ["/redirect/metadata", "/redirect/other-loopback", "/redirect/private"])
    func redirectRefused(_ path: String) async throws {
        let (fetch, outcome, error, hits) = try await Self.check(path)
        #expect(fetch.redirects == 1)
        #expect(fetch.status == nil)
        guard case .refused = fetch.failure else {
            Issue.record("expected a refusal, got \(String(describing: fetch.failure))")
            return
        }
        #expect(outcome == .inconclusive)
        #expect(error?.hasPrefix("target refused:") == true)
        #expect(hits == [path])  // the redirect target (even 127.0.0.2 on this port) was never reached
    }

    @Test("an allowed redirect is followed and checked")
    func redirectFollowed() async throws {
        let (fetch, outcome, _, hits) = try await Self.check("/redirect/same")
        #expect(fetch.redirects == 1)
        #expect(fetch.finalURL.hasSuffix("/same"))
        #expect(outcome == .stillServed)
        #expect(hits == ["/redirect/same", "/same"])
    }

    @Test("redirects stop after the limit")
    func redirectLoop() async throws {
        let (fetch, outcome, _, hits) = try await Self.check("/redirect/loop")
        #expect(fetch.failure == .tooManyRedirects(limit: 2))
        #expect(outcome == .inconclusive)
        #expect(hits.count == 3)
    }

    @Test("a body over the cap is not read to the end", arguments: ["/large/streamed", "/large/declared"])
    func tooLarge(_ path: String) async throws {
        let (fetch, outcome, error, _) = try await Self.check(path)
        #expect(fetch.failure == .tooLarge(limit: 16 * 1024))
        #expect(fetch.digests == nil)
        #expect(outcome == .inconclusive)
        #expect(error == "the body is larger than 16384 bytes")
    }

    @Test("a slow body times out within the limit")
    func slow() async throws {
        let ((fetch, outcome, error, _), took) = try await Self.timedCheck("/slow", timeout: 1)
        // The body would take 4 s; the 1 s limit cuts it (with room for two loaded cores).
        #expect(took < .milliseconds(3800))
        #expect(fetch.failure == .timedOut)
        #expect(outcome == .inconclusive)
        #expect(error == "timed out")
    }

    @Test("without the allow-list, loopback itself is refused")
    func loopbackRefused() async throws {
        var configuration = Self.configuration()
        configuration.allowedTargets = []
        let verifier = URLVerifier(configuration: configuration)
        let fetch = await verifier.fetch("http://127.0.0.1:9/same")
        try await verifier.shutdown()
        guard case .refused = fetch.failure else {
            Issue.record("expected a refusal, got \(String(describing: fetch.failure))")
            return
        }
    }
}
