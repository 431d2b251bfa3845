/// The one-owner rule of routing: a domain, an address or an AS number belongs to one hosting provider
/// only, so a URL never has two recipients.
public enum RoutingConflicts {
    /// Every rule of `partner` that another provider already holds: the same domain, or an address range
    /// that overlaps one of theirs (a `/0` over a `/24` included). Empty when it may be written.
    public static func find(_ partner: Partner, among others: [Partner]) -> [FieldError] {
        if partner.kind == .hotline { return countryConflicts(partner, among: others) }
        guard partner.kind == .hostingProvider else { return [] }
        var errors: [FieldError] = []
        for other in others where other.id != partner.id && other.kind == .hostingProvider {
            for (index, domain) in partner.routing.domains.enumerated() where other.routing.domains.contains(domain) {
                errors.append(FieldError(name: "routing.domains[\(index)]", reason: "is already routed to \(other.id)"))
            }
            for (index, asn) in partner.routing.asns.enumerated() where other.routing.asns.contains(asn) {
                errors.append(
                    FieldError(name: "routing.asns[\(index)]", reason: "AS\(asn) is already routed to \(other.id)"))
            }
            let theirs = other.routing.ipRanges.compactMap(IPRange.init)
            for (index, text) in partner.routing.ipRanges.enumerated() {
                guard let range = IPRange(text), let taken = theirs.first(where: { $0.overlaps(range) }) else {
                    continue
                }
                errors.append(
                    FieldError(
                        name: "routing.ip_ranges[\(index)]",
                        reason: "overlaps \(taken), already routed to \(other.id)"))
            }
        }
        return errors
    }

    /// A hosting country is covered by one peer hotline only, so a referral never has two recipients.
    static func countryConflicts(_ partner: Partner, among others: [Partner]) -> [FieldError] {
        var errors: [FieldError] = []
        for other in others where other.id != partner.id && other.kind == .hotline {
            for (index, country) in partner.routing.countries.enumerated()
            where other.routing.countries.contains(country) {
                errors.append(
                    FieldError(
                        name: "routing.countries[\(index)]", reason: "\(country) is already covered by \(other.id)"))
            }
        }
        return errors
    }
}

extension IPRange {
    /// Whether the two ranges share an address: one holds the other's network address.
    public func overlaps(_ other: IPRange) -> Bool {
        contains(other.base) || other.contains(base)
    }
}

extension IPAddress {
    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:0:0/96`).
    public var ipv4Mapped: IPAddress? {
        guard bytes.count == 16, bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return nil
        }
        return IPAddress(bytes: Array(bytes.suffix(4)))
    }
}
