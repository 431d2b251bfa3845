import AsyncHTTPClient
import Synchronization
import TakedownModel

/// HTTP clients that each send one host name's requests to one address the target guard approved.
///
/// async-http-client's `dnsOverride` connects to the given address and keeps the host name for `Host`,
/// SNI and the certificate check, but it is fixed per client. Its connection pools are keyed by the
/// address connected to and the SNI name, so a client per (host, address) loses no reuse: the clients
/// live in a small cache, least recently used first out. A request takes the client of an address its
/// own lookup approved (a cached one when the answer still holds it, so round-robin DNS does not churn),
/// and a name that now resolves elsewhere gets a new client: no connection made for an old answer is
/// used once the name no longer resolves to it. A client in use is never evicted; every client is shut
/// down when evicted or at `shutdown()`.
///
/// One attempt uses one address (the client retries its connection until the attempt's deadline, so
/// there is no quick failover within an attempt). An address whose last attempt failed goes to the
/// back of the line, so the next attempt to a name with a dead address (broken IPv6, say) takes another.
final class PinnedClients: Sendable {
    struct Key: Hashable {
        var host: String
        var address: IPAddress
    }

    private struct Entry {
        let client: HTTPClient
        var users: Int
        var lastUsed: UInt64
        /// The last request through this client failed without an answer.
        var failing = false
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let configuration: HTTPClient.Configuration
    let capacity: Int

    init(configuration: HTTPClient.Configuration, capacity: Int) {
        self.configuration = configuration
        self.capacity = max(1, capacity)
    }

    /// Runs `body` with a client pinned to one of `target`'s addresses, keeping it from eviction until
    /// `body` returns (a streamed response body must be read inside).
    func withClient<T>(for target: ApprovedTarget, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let (key, client, evicted) = try checkOut(target)
        for old in evicted { try? await old.shutdown() }
        do {
            let result = try await body(client)
            checkIn(key, failed: false)
            return result
        } catch {
            checkIn(key, failed: true)
            throw error
        }
    }

    /// How many clients are cached (tests check that reuse does not grow it).
    var count: Int { state.withLock { $0.entries.count } }

    /// Shuts every client down; later requests fail with `alreadyShutdown`.
    func shutdown() async {
        let clients = state.withLock { state -> [HTTPClient] in
            state.closed = true
            defer { state.entries = [:] }
            return state.entries.values.map(\.client)
        }
        for client in clients { try? await client.shutdown() }
    }

    /// The address to use: one with a client that did not just fail, else one without a client, else
    /// the one whose client failed longest ago; within each, the resolver's order.
    private static func choose(_ target: ApprovedTarget, among entries: [Key: Entry]) -> Key {
        let keys = target.addresses.map { Key(host: target.host, address: $0) }
        if let healthy = keys.first(where: { entries[$0].map { !$0.failing } ?? false }) { return healthy }
        if let fresh = keys.first(where: { entries[$0] == nil }) { return fresh }
        return keys.min { entries[$0]!.lastUsed < entries[$1]!.lastUsed }!
    }

    private func checkOut(_ target: ApprovedTarget) throws -> (Key, HTTPClient, [HTTPClient]) {
        try state.withLock { state in
            guard !state.closed else { throw HTTPClientError.alreadyShutdown }
            state.clock += 1
            let key = Self.choose(target, among: state.entries)
            if var entry = state.entries[key] {
                entry.users += 1
                entry.lastUsed = state.clock
                state.entries[key] = entry
                return (key, entry.client, [])
            }
            var configuration = configuration
            // A literal host is connected to as it is; a name is never resolved by the client.
            configuration.dnsOverride = target.isLiteral ? [:] : [key.host: key.address.description]
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            state.entries[key] = Entry(client: client, users: 1, lastUsed: state.clock)
            var evicted: [HTTPClient] = []
            while state.entries.count > capacity,
                let oldest = state.entries.filter({ $0.value.users == 0 }).min(by: {
                    $0.value.lastUsed < $1.value.lastUsed
                })
            {
                evicted.append(oldest.value.client)
                state.entries[oldest.key] = nil
            }
            return (key, client, evicted)
        }
    }

    private func checkIn(_ key: Key, failed: Bool) {
        state.withLock { state in
            if var entry = state.entries[key] {
                entry.users -= 1
                entry.failing = failed
                state.entries[key] = entry
            }
        }
    }
}
