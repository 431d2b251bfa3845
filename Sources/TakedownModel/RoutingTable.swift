import Foundation

/// Decides which hosting provider answers for a URL: the longest matching domain rule, else the
/// narrowest IP range that holds the item's address, else one that holds an address its host resolves
/// to, else the provider announcing the AS of one of those addresses; and when no provider here hosts it,
/// the peer hotline covering the hosting country.
public struct RoutingTable: Sendable {
    private var domains: [String: PartnerID] = [:]
    private var ranges: [(IPRange, PartnerID)] = []
    private var asns: [Int: PartnerID] = [:]
    private var countries: [String: PartnerID] = [:]

    public init(partners: [Partner]) {
        // Only a hotline with a gateway takes referrals; the first (oldest) to cover a country keeps it.
        for partner in partners where partner.kind == .hotline && partner.delivery.gateway != nil {
            for country in partner.routing.countries where countries[country] == nil { countries[country] = partner.id }
        }
        for partner in partners where partner.kind == .hostingProvider {
            for domain in partner.routing.domains { domains[domain.lowercased()] = partner.id }
            for text in partner.routing.ipRanges {
                if let range = IPRange(text) { ranges.append((range, partner.id)) }
            }
            // The first provider (oldest) holding an AS number keeps it.
            for asn in partner.routing.asns where asns[asn] == nil { asns[asn] = partner.id }
        }
        ranges.sort { $0.0.prefixLength > $1.0.prefixLength }
    }

    /// The partner for this item and what chose it, trying in order: a domain rule, the observed address
    /// (or the URL's address literal), the host's resolved addresses, the AS numbers of those addresses, then
    /// the peer hotline covering the hosting `country` (unless `referrals` is off).
    public func route(
        url: String, ip: String?, resolved: [IPAddress], asns found: [Int], country: String? = nil,
        referrals: Bool = true
    ) -> (route: Result<PartnerID, UnroutedReason>, basis: HostingTrace.Basis) {
        route(
            host: Syntax.routingHost(of: url), ip: ip, resolved: resolved, asns: found, country: country,
            referrals: referrals)
    }

    /// The same, for a URL whose routing host (`Syntax.routingHost`) intake has already read: parsing a URL
    /// is the dearest step of routing, so a case's items are parsed once.
    public func route(
        host: String?, ip: String?, resolved: [IPAddress], asns found: [Int], country: String? = nil,
        referrals: Bool = true
    ) -> (route: Result<PartnerID, UnroutedReason>, basis: HostingTrace.Basis) {
        let local = localRoute(host: host, ip: ip, resolved: resolved, asns: found)
        if case .failure = local.route, referrals, let country, let peer = countries[country] {
            return (.success(peer), .hostingCountry)
        }
        return local
    }

    /// The peer hotline that covers a hosting country.
    public func hotline(covering country: String) -> PartnerID? { countries[country] }

    private func localRoute(host: String?, ip: String?, resolved: [IPAddress], asns found: [Int])
        -> (route: Result<PartnerID, UnroutedReason>, basis: HostingTrace.Basis)
    {
        if let host, let partner = domainMatch(host) {
            return (.success(partner), .domain)
        }
        let direct = route(host: host, ip: ip)
        if case .success = direct { return (direct, .ip) }
        if let partner = resolved.lazy.compactMap({ match($0) }).first { return (.success(partner), .resolvedAddress) }
        if let partner = found.lazy.compactMap({ asns[$0] }).first { return (.success(partner), .asn) }
        if case .failure(.noMatchingDomain) = direct, !resolved.isEmpty || !found.isEmpty {
            return (.failure(.noMatchingPartner), .none)
        }
        return (direct, .none)
    }

    /// The partner of the longest domain rule matching `host` (a subdomain matches its parent's rule).
    public func domainMatch(_ host: String) -> PartnerID? {
        var candidate = host
        while true {
            if let partner = domains[candidate] { return partner }
            guard let dot = candidate.firstIndex(of: ".") else { return nil }
            candidate = String(candidate[candidate.index(after: dot)...])
        }
    }

    /// The partner for this item by its domain or observed address, or the reason nobody matched.
    public func route(url: String, ip: String?) -> Result<PartnerID, UnroutedReason> {
        route(host: Syntax.routingHost(of: url), ip: ip)
    }

    private func route(host: String?, ip: String?) -> Result<PartnerID, UnroutedReason> {
        if let host {
            if let partner = domainMatch(host) { return .success(partner) }
            // A URL whose host is an address literal routes by that address.
            if ip == nil, let address = IPAddress(host), let partner = match(address) { return .success(partner) }
        }
        guard let ip else { return .failure(.noMatchingDomain) }
        guard let address = IPAddress(ip), let partner = match(address) else { return .failure(.noMatchingPartner) }
        return .success(partner)
    }

    /// The narrowest range holding the address; an IPv4-mapped IPv6 address (`::ffff:192.0.2.5`) is the
    /// IPv4 address it carries.
    private func match(_ address: IPAddress) -> PartnerID? {
        if let mapped = address.ipv4Mapped, let partner = ranges.first(where: { $0.0.contains(mapped) })?.1 {
            return partner
        }
        return ranges.first { $0.0.contains(address) }?.1
    }
}

public enum UnroutedReason: String, Error, Sendable {
    /// No domain rule matched and the item carries no IP to try.
    case noMatchingDomain = "no_matching_domain"
    /// Neither a domain nor an IP rule matched.
    case noMatchingPartner = "no_matching_partner"
}
