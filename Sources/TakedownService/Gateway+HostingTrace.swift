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

extension CaseDesk {
    /// Lookups of one case run at most this many at once.
    static let traceConcurrency = 64

    /// For each item: its host's addresses (looked up only when no domain rule decides, the host is a name
    /// and a resolver is configured) and the AS ranges of its addresses. A case's lookups end within twice
    /// the resolver's time limit; names not asked by then count as failed.
    func hostingFacts(of items: [CaseItem], snapshot: RoutingSnapshot) async throws -> [HostingFacts] {
        let table = snapshot.table
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
        var (ranges, missing) = snapshot.asnRanges.lookUp(addresses)
        if !missing.isEmpty {
            let answers = try await store.asnRanges(containing: missing)
            snapshot.asnRanges.keep(answers, asked: missing)
            ranges.merge(answers) { $1 }
        }
        for index in facts.indices {
            facts[index].ranges = facts[index].addresses.compactMap { ranges[$0] }
        }
        return facts
    }

    static func lookUp(_ hosts: Set<String>, with resolver: any HostResolver, within budget: TimeInterval) async
        -> [String: HostLookup]
    {
        guard !hosts.isEmpty else { return [:] }
        // Cached answers are taken at once: a case on hosts already asked starts no task.
        var answers: [String: HostLookup] = [:]
        var asking: Set<String> = []
        for host in hosts {
            if let known = resolver.known(host) { answers[host] = known } else { asking.insert(host) }
        }
        guard !asking.isEmpty else { return answers }
        let known = answers
        let deadline = ContinuousClock.now + .milliseconds(Int(budget * 1000))
        return await withTaskGroup(of: (String, HostLookup).self) { group in
            var waiting = asking.makeIterator()
            for _ in 0..<traceConcurrency {
                guard let host = waiting.next() else { break }
                group.addTask { (host, await resolver.lookup(host)) }
            }
            var answers = known
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
            host: fact.host, ip: item.ip, resolved: fact.resolved, asns: fact.ranges.map(\.asn),
            country: range?.country, referrals: referrals)
        let trace = HostingTrace(
            host: fact.host, resolution: fact.resolution, addresses: fact.resolved.map(\.description),
            address: address?.description, asn: range?.asn, asName: range?.name, country: range?.country,
            basis: basis, tracedAt: now)
        return (route, trace)
    }
}

extension CaseDesk {
    /// RDAP questions of one case run at most this many at once.
    static let rdapConcurrency = 16

    /// Asks RDAP about the network and domain of each item nothing routed, keeps what it said in the
    /// item's trace, and routes an item to the peer hotline covering the country RDAP gives its network.
    /// The case's questions end within `rdapTimeout`; items not asked by then keep no findings.
    func askRDAP(
        about record: inout Case, routes: inout [Result<PartnerID, UnroutedReason>], facts: [HostingFacts],
        table: RoutingTable, referrals: Bool
    ) async throws {
        guard let rdap = configuration.rdap else { return }
        struct Question: Hashable, Sendable {
            var address: IPAddress?
            var domain: String?
        }
        var asked: [Int: Question] = [:]
        for index in routes.indices {
            guard case .failure = routes[index] else { continue }
            let fact = facts[index]
            let question = Question(
                address: fact.observed ?? fact.resolved.first,
                domain: fact.host.flatMap(RDAPBootstrap.registrableDomain(of:)))
            if question.address != nil || question.domain != nil { asked[index] = question }
        }
        guard !asked.isEmpty else { return }
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.rdapTimeout * 1000))
        let answers = await withTaskGroup(of: (Question, RDAPFindings).self) { group in
            var waiting = Set(asked.values).makeIterator()
            for _ in 0..<Self.rdapConcurrency {
                guard let next = waiting.next() else { break }
                group.addTask { (next, await rdap.lookup(address: next.address, domain: next.domain)) }
            }
            var answers: [Question: RDAPFindings] = [:]
            for await (question, findings) in group {
                answers[question] = findings
                if ContinuousClock.now < deadline, let next = waiting.next() {
                    group.addTask { (next, await rdap.lookup(address: next.address, domain: next.domain)) }
                }
            }
            return answers
        }
        for (index, question) in asked {
            guard let findings = answers[question] else { continue }
            record.items[index].trace?.rdap = findings
            if referrals, let country = findings.country, let peer = table.hotline(covering: country) {
                routes[index] = .success(peer)
                record.items[index].trace?.basis = .rdapCountry
            }
        }
    }
}

/// What accepting an RDAP proposal did: the provider that now answers for the item (created, with its
/// first token shown once, or given a new route) and the notice issued to it.
public struct ProposalAcceptance: Sendable {
    public var partner: Partner
    /// The new provider's first API token; nil when an existing provider got the route.
    public var token: String?
    public var notice: Notice
}

extension CaseDesk {
    /// Accepts the RDAP proposal of an unrouted item in one call: with `partnerID`, the existing hosting
    /// provider gets the proposal's route (the network's range, else the domain); without, an email-only
    /// provider is created from the abuse contact with that route. Then the item is noticed to it.
    public func acceptProposal(
        of caseID: CaseID, url: String, partner partnerID: PartnerID?, by principal: Principal
    ) async throws -> ProposalAcceptance {
        let record = try await caseRecord(caseID)
        guard let item = record.items.first(where: { $0.url == url }) else {
            throw GatewayError.invalid(
                ValidationError([FieldError(name: "url", reason: "is not an item of case \(caseID)")]))
        }
        if let notice = item.noticeId { throw GatewayError.conflict("\(url) is already carried by notice \(notice)") }
        guard let proposal = item.trace?.proposal else {
            throw GatewayError.conflict("RDAP named no abuse contact for \(url): route it by hand")
        }
        let partner: Partner
        var token: String?
        if let partnerID {
            let current = try await gateway.partnerDesk.partner(partnerID)
            guard current.kind == .hostingProvider else {
                throw GatewayError.invalid(
                    ValidationError([FieldError(name: "partner_id", reason: "is not a hosting provider")]))
            }
            var routing = PartnerInput.RoutingInput()
            if let range = proposal.ipRange {
                routing.ipRanges =
                    current.routing.ipRanges.contains(range)
                    ? current.routing.ipRanges : current.routing.ipRanges + [range]
            } else if let domain = proposal.domain {
                routing.domains =
                    current.routing.domains.contains(domain)
                    ? current.routing.domains : current.routing.domains + [domain]
            }
            partner = try await gateway.partnerDesk.updatePartner(partnerID, with: PartnerInput(routing: routing)).0
        } else {
            let input = PartnerInput(
                name: String((proposal.name ?? proposal.domain ?? proposal.abuseEmail).prefix(200)),
                kind: PartnerKind.hostingProvider.rawValue, contactEmail: proposal.abuseEmail, locale: "en",
                jurisdiction: proposal.country ?? configuration.issuer.country,
                routing: .init(
                    domains: proposal.ipRange == nil ? proposal.domain.map { [$0] } : nil,
                    ipRanges: proposal.ipRange.map { [$0] }),
                delivery: .init(email: proposal.abuseEmail))
            let created = try await gateway.partnerDesk.createPartner(input)
            partner = created.0
            token = created.1.secret
        }
        let notice = try await routeItems(of: caseID, urls: [url], to: partner.id, by: principal)
        return ProposalAcceptance(partner: partner, token: token, notice: notice)
    }
}
