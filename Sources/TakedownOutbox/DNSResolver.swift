import Foundation
import Synchronization
import TakedownModel

#if canImport(Glibc)
    import Glibc
#endif

/// A stub resolver asking one DNS server (`TAKEDOWN_DNS_SERVER`, such as the hotline's own recursive
/// resolver, or a server on loopback in the tests) over UDP, for A and AAAA at once, within a time limit.
/// A response from another address or with another id is ignored (the wait goes on); a malformed one, a
/// truncated one (no TCP retry) or a refused datagram is a failure.
public struct DNSResolver: HostResolver {
    public let server: IPAddress
    public let port: Int
    public let timeout: TimeInterval

    public init(server: IPAddress, port: Int = 53, timeout: TimeInterval) {
        self.server = server
        self.port = port
        self.timeout = timeout
    }

    public func lookup(_ host: String) async -> HostLookup {
        guard DNSMessage.labels(of: host) != nil else { return .nameNotFound }
        async let v4 = ask(host, .a)
        async let v6 = ask(host, .aaaa)
        let answers = await [v4, v6]
        let addresses = answers.compactMap { $0 }.flatMap(\.addresses)
        if !addresses.isEmpty { return .addresses(Array(addresses.prefix(16))) }
        if answers.contains(where: { $0?.rcode == 3 }) { return .nameNotFound }
        return .failed
    }

    func ask(_ host: String, _ type: DNSMessage.RecordType) async -> DNSMessage.Answer? {
        let server = server
        let port = port
        let timeout = timeout
        return await BlockingCall.run(cancelled: nil) {
            Self.exchange(host, type, server: server, port: port, timeout: timeout)
        }
    }

    /// One query and its response on a connected UDP socket, waiting at most `timeout` in all.
    static func exchange(
        _ host: String, _ type: DNSMessage.RecordType, server: IPAddress, port: Int, timeout: TimeInterval
    ) -> DNSMessage.Answer? {
        let id = UInt16.random(in: 0...UInt16.max)
        guard let query = DNSMessage.query(id: id, name: host, type: type) else { return nil }
        let v6 = server.bytes.count == 16
        let socket = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        defer { close(socket) }
        guard connect(socket, to: server, port: port) else { return nil }
        let sent = query.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        guard sent == query.count else { return nil }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            guard milliseconds > 0 else { return nil }
            var waiting = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, Int32(min(milliseconds, Int(Int32.max))))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            // A connected socket only receives from the server; ECONNREFUSED: nothing listens there.
            let received = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { return nil }
            do {
                let answer = try DNSMessage.parse(Array(buffer[..<received]), id: id, name: host, type: type)
                return answer.truncated && answer.addresses.isEmpty ? nil : answer
            } catch {
                // Another query's late answer, or a guess: keep waiting for ours.
                if error.reason.hasPrefix("the id ") { continue }
                return nil
            }
        }
    }

    static func connect(_ socket: Int32, to server: IPAddress, port: Int) -> Bool {
        if server.bytes.count == 4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: server.bytes) }
            return connect(socket, &address)
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: server.bytes) }
        return connect(socket, &address)
    }

    /// `connect(2)` to a `sockaddr_in` or `sockaddr_in6`.
    static func connect<Address>(_ socket: Int32, _ address: inout Address) -> Bool {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<Address>.size)) == 0
            }
        }
    }
}

/// Keeps a resolver's answers for a while, so intake asks the DNS server once per host name and TTL:
/// addresses for `ttl`, a name that does not exist for `negativeTTL`, a failure for `failureTTL` (a server
/// that is down is not asked again for every item). Concurrent lookups of one name share one question.
public final class CachingResolver: HostResolver {
    let base: any HostResolver
    let ttl: Duration
    let negativeTTL: Duration
    let failureTTL: Duration
    let capacity: Int
    private let state = Mutex<State>(State())

    struct State {
        var answers: [String: (lookup: HostLookup, until: ContinuousClock.Instant)] = [:]
        var pending: [String: Task<HostLookup, Never>] = [:]
    }

    public init(
        _ base: any HostResolver, ttl: TimeInterval = 300, negativeTTL: TimeInterval = 60,
        failureTTL: TimeInterval = 10, capacity: Int = 100_000
    ) {
        self.base = base
        self.ttl = .milliseconds(Int(ttl * 1000))
        self.negativeTTL = .milliseconds(Int(negativeTTL * 1000))
        self.failureTTL = .milliseconds(Int(failureTTL * 1000))
        self.capacity = capacity
    }

    public func lookup(_ host: String) async -> HostLookup {
        let key = DNSMessage.canonical(host)
        let now = ContinuousClock.now
        let task = state.withLock { state -> Task<HostLookup, Never>? in
            if let cached = state.answers[key], cached.until > now { return nil }
            if let pending = state.pending[key] { return pending }
            let base = base
            let task = Task { await base.lookup(key) }
            state.pending[key] = task
            return task
        }
        guard let task else { return state.withLock { $0.answers[key]?.lookup } ?? .failed }
        let lookup = await task.value
        let lifetime: Duration
        switch lookup {
        case .addresses: lifetime = ttl
        case .nameNotFound: lifetime = negativeTTL
        case .failed: lifetime = failureTTL
        }
        state.withLock { state in
            state.pending[key] = nil
            if state.answers.count >= capacity {
                let now = ContinuousClock.now
                state.answers = state.answers.filter { $0.value.until > now }
                // Still full of live answers: forget a tenth of them rather than grow without bound.
                if state.answers.count >= capacity {
                    for stale in state.answers.keys.prefix(max(capacity / 10, 1)) { state.answers[stale] = nil }
                }
            }
            state.answers[key] = (lookup, ContinuousClock.now + lifetime)
        }
        return lookup
    }

    public func known(_ host: String) -> HostLookup? {
        let key = DNSMessage.canonical(host)
        let now = ContinuousClock.now
        return state.withLock { state in state.answers[key].flatMap { $0.until > now ? $0.lookup : nil } }
    }

    /// Names held, for tests.
    var count: Int { state.withLock { $0.answers.count } }
}
