import Foundation
import TakedownModel
import TakedownStore

/// What intake found about one item's host before routing it.
struct HostingFacts: Sendable {
    var host: String?
    var resolution: HostingTrace.Resolution
    var resolved: [IPAddress] = []
    /// The observed address (or the URL's address literal).
    var observed: IPAddress?
    /// The AS ranges of the observed address, then of each resolved one, where the table holds them.
    var ranges: [ASNRange] = []

    /// The addresses whose AS ranges matter, observed first.
    var addresses: [IPAddress] { (observed.map { [$0] } ?? []) + resolved }
}

extension Gateway {
    /// Lookups of one case run at most this many at once.
    static let traceConcurrency = 64

    /// For each item: its host's addresses (looked up only when no domain rule decides, the host is a name
    /// and a resolver is configured) and the AS ranges of its addresses. A case's lookups end within twice
    /// the resolver's time limit; names not asked by then count as failed.
    func hostingFacts(of items: [CaseItem], table: RoutingTable) async throws -> [HostingFacts] {
        var facts: [HostingFacts] = items.map { item in
            let host = Syntax.routingHost(of: item.url)
            var fact = HostingFacts(host: host, resolution: .notNeeded)
            fact.observed = item.ip.flatMap(IPAddress.init) ?? host.flatMap(IPAddress.init)
            if let host, table.domainMatch(host) == nil, IPAddress(host) == nil {
                fact.resolution = configuration.hostResolver == nil ? .off : .failed
            }
            return fact
        }
        if let resolver = configuration.hostResolver {
            let hosts = Set(facts.filter { $0.resolution == .failed }.compactMap(\.host))
            let lookups = await Self.lookUp(hosts, with: resolver, within: configuration.dnsTimeout * 2)
            for index in facts.indices where facts[index].resolution == .failed {
                switch facts[index].host.flatMap({ lookups[$0] }) ?? .failed {
                case .addresses(let addresses):
                    facts[index].resolution = .resolved
                    facts[index].resolved = addresses
                case .nameNotFound: facts[index].resolution = .nameNotFound
                case .failed: facts[index].resolution = .failed
                }
            }
        }
        let addresses = facts.flatMap(\.addresses)
        guard !addresses.isEmpty else { return facts }
        let ranges = try await store.asnRanges(containing: addresses)
        for index in facts.indices {
            facts[index].ranges = facts[index].addresses.compactMap { ranges[$0] }
        }
        return facts
    }

    static func lookUp(_ hosts: Set<String>, with resolver: any HostResolver, within budget: TimeInterval) async
        -> [String: HostLookup]
    {
        guard !hosts.isEmpty else { return [:] }
        let deadline = ContinuousClock.now + .milliseconds(Int(budget * 1000))
        return await withTaskGroup(of: (String, HostLookup).self) { group in
            var waiting = hosts.makeIterator()
            for _ in 0..<traceConcurrency {
                guard let host = waiting.next() else { break }
                group.addTask { (host, await resolver.lookup(host)) }
            }
            var answers: [String: HostLookup] = [:]
            for await (host, lookup) in group {
                answers[host] = lookup
                if ContinuousClock.now < deadline, let next = waiting.next() {
                    group.addTask { (next, await resolver.lookup(next)) }
                }
            }
            return answers
        }
    }

    /// Routes one item by what intake found, and the trace kept with it.
    /// An item no provider here hosts goes to the peer hotline covering its hosting country, unless
    /// `referrals` is off (the items of a referral we accepted are never referred on).
    func route(_ item: CaseItem, _ fact: HostingFacts, table: RoutingTable, at now: Date, referrals: Bool = true)
        -> (route: Result<PartnerID, UnroutedReason>, trace: HostingTrace)
    {
        let address = fact.observed ?? fact.resolved.first
        let range = fact.ranges.first { address.map($0.contains) ?? false } ?? fact.ranges.first
        let (route, basis) = table.route(
            url: item.url, ip: item.ip, resolved: fact.resolved, asns: fact.ranges.map(\.asn),
            country: range?.country, referrals: referrals)
        let trace = HostingTrace(
            host: fact.host, resolution: fact.resolution, addresses: fact.resolved.map(\.description),
            address: address?.description, asn: range?.asn, asName: range?.name, country: range?.country,
            basis: basis, tracedAt: now)
        return (route, trace)
    }
}
