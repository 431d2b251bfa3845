import TakedownModel

/// The address ranges no target may be in, after IANA's IPv4 and IPv6 Special-Purpose Address
/// Registries: every range they mark as not globally reachable (or not forwardable), the documentation
/// ranges, multicast, and for IPv6 everything outside global unicast `2000::/3`. Ranges the registries
/// call globally reachable (the AS112 and AMT anycast prefixes) stay open. IPv4-mapped, NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4 address they carry, so a
/// NAT64 target with a public IPv4 address works and `64:ff9b::127.0.0.1` does not.
extension TargetGuard {
    static let reservedIPv4: [(IPRange, String)] = [
        ("0.0.0.0/8", "\"this network\""), ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"), ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local (cloud metadata) address"), ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment"), ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "the deprecated 6to4 relay anycast"), ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"), ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"), ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved (or broadcast) address"),
    ].map { (IPRange($0.0)!, $0.1) }

    /// Ranges inside `2000::/3` that are not globally reachable; everything outside it is refused too.
    static let reservedIPv6: [(IPRange, String)] = [
        ("2001::/23", "an IETF protocol assignment (Teredo, benchmarking, ORCHID)"),
        ("2001:db8::/32", "a documentation address"), ("3fff::/20", "a documentation address"),
    ].map { (IPRange($0.0)!, $0.1) }

    /// Named ranges outside `2000::/3`, for a clearer refusal; the rest there is "not global unicast".
    static let namedIPv6: [(IPRange, String)] = [
        ("::/128", "the unspecified address"), ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible address (deprecated)"), ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"), ("5f00::/16", "an SRv6 segment identifier"),
        ("fc00::/7", "a unique local (private) address"), ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"), ("ff00::/8", "a multicast address"),
    ].map { (IPRange($0.0)!, $0.1) }

    static let globalUnicast = IPRange("2000::/3")!
    static let mapped = IPRange("::ffff:0:0/96")!
    static let nat64 = IPRange("64:ff9b::/96")!
    static let sixToFour = IPRange("2002::/16")!

    /// Whether `address` is in a reserved range (the allow-list aside).
    public static func isBlocked(_ address: IPAddress) -> Bool {
        reservedRange(of: address) != nil
    }

    /// What kind of reserved address `address` is, or nil for a public unicast address.
    static func reservedRange(of address: IPAddress) -> String? {
        if address.bytes.count == 4 {
            return reservedIPv4.first { $0.0.contains(address) }.map { "\($0.1) (\($0.0))" }
        }
        for (range, offset) in [(mapped, 12), (nat64, 12), (sixToFour, 2)] where range.contains(address) {
            guard let inner = address.embeddedIPv4(at: offset), let reason = reservedRange(of: inner) else {
                return nil
            }
            return "\(reason), carried in \(range)"
        }
        if let (range, reason) = reservedIPv6.first(where: { $0.0.contains(address) }) { return "\(reason) (\(range))" }
        guard !globalUnicast.contains(address) else { return nil }
        if let (range, reason) = namedIPv6.first(where: { $0.0.contains(address) }) { return "\(reason) (\(range))" }
        return "not a global unicast address (outside \(globalUnicast))"
    }

    /// The IPv4 address of an IPv4-mapped IPv6 address: the same host, reached over an IPv6 socket.
    static func mappedIPv4(_ address: IPAddress) -> IPAddress? {
        mapped.contains(address) ? address.embeddedIPv4(at: 12) : nil
    }
}
