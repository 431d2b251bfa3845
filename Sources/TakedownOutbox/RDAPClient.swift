import Foundation
import Synchronization
import TakedownModel

/// Asks RDAP servers about an item's IP network and its domain (RFC 9082), reading each answer as hostile
/// input (`RDAPAnswer`). Answers are cached by URL until they expire: `Cache-Control: max-age` when the
/// server gives one (between a minute and a week), else a day; "not found" for an hour; other failures
/// for ten minutes. Each lookup makes its own HTTP client through the target guard and shuts it down
/// after, so nothing outlives a case.
public final class RDAPClient: RDAPLookup {
    let bootstrap: RDAPBootstrap
    let timeout: TimeInterval
    let allowPrivateTargets: Bool
    let allowedTargets: [IPRange]
    let clock: @Sendable () -> Date
    let capacity: Int
    private let cache = Mutex<[String: (expires: Date, result: Result<RDAPRecord, RDAPFailure>)]>([:])
    private let asked = Mutex(0)

    public init(
        bootstrap: RDAPBootstrap, timeout: TimeInterval, allowPrivateTargets: Bool, allowedTargets: [IPRange] = [],
        capacity: Int = 100_000, clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.bootstrap = bootstrap
        self.timeout = timeout
        self.allowPrivateTargets = allowPrivateTargets
        self.allowedTargets = allowedTargets
        self.capacity = capacity
        self.clock = clock
    }

    /// How many questions went to a server (cached answers are not counted).
    public var questionsAsked: Int { asked.withLock { $0 } }

    public func lookup(address: IPAddress?, domain: String?) async -> RDAPFindings {
        var findings = RDAPFindings()
        let transport = WebhookTransport(
            timeout: timeout,
            guard: TargetGuard(allowPrivate: allowPrivateTargets, allowed: allowedTargets), connectionsPerHost: 2,
            cachedTargets: 4)
        if let address {
            switch await record(bootstrap.url(for: address), kind: .ipNetwork, transport) {
            case .success(let record): findings.network = record
            case .failure(let failure): findings.problems.append("network: \(Self.describe(failure))")
            }
        }
        if let domain {
            switch await record(bootstrap.url(forDomain: domain), kind: .domain, transport) {
            case .success(let record): findings.domain = record
            case .failure(let failure): findings.problems.append("domain: \(Self.describe(failure))")
            }
        }
        try? await transport.shutdown()
        return findings
    }

    func record(_ url: String?, kind: RDAPRecord.Kind, _ transport: WebhookTransport) async
        -> Result<RDAPRecord, RDAPFailure>
    {
        guard let url else { return .failure(.noServer) }
        let now = clock()
        if let cached = cache.withLock({ $0[url] }), cached.expires > now { return cached.result }
        asked.withLock { $0 += 1 }
        let result: Result<RDAPRecord, RDAPFailure>
        var lifetime: TimeInterval
        do {
            let answer = try await transport.get(
                url, accept: "application/rdap+json, application/json", limit: RDAPAnswer.maxBytes + 1)
            do {
                if answer.status == 404 { throw RDAPFailure.notFound }
                let record = try RDAPAnswer.parse(answer.body, kind: kind, source: url)
                guard (200...299).contains(answer.status) else {
                    throw RDAPFailure.serverError(answer.status, "HTTP \(answer.status)")
                }
                result = .success(record)
                lifetime = Self.maxAge(answer.cacheControl) ?? 86_400
            } catch let failure as RDAPFailure {
                if case .malformed = failure, !(200...299).contains(answer.status) {
                    result = .failure(
                        answer.status == 404 ? .notFound : .serverError(answer.status, "HTTP \(answer.status)"))
                } else {
                    result = .failure(failure)
                }
                lifetime = result == .failure(.notFound) ? 3_600 : 600
            }
        } catch {
            result = .failure(.unreachable("\(error)".prefix(200).description))
            lifetime = 600
        }
        cache.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[url] = (now.addingTimeInterval(lifetime), result)
        }
        return result
    }

    /// `max-age` of a `Cache-Control` header, kept between a minute and a week.
    static func maxAge(_ header: String?) -> TimeInterval? {
        guard let header else { return nil }
        for directive in header.split(separator: ",") {
            let parts = directive.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "max-age", let seconds = Int(parts[1]) {
                return TimeInterval(min(max(seconds, 60), 7 * 86_400))
            }
        }
        return nil
    }

    static func describe(_ failure: RDAPFailure) -> String {
        switch failure {
        case .notFound: return "not found"
        case .serverError(let code, let title): return "error \(code)\(title.isEmpty ? "" : ": \(title)")"
        case .unreachable(let detail): return "unreachable (\(detail))"
        case .malformed(let detail): return "malformed answer (\(detail))"
        case .noServer: return "no RDAP server for it"
        }
    }
}
