import Foundation

/// How an item's host was traced at intake and how its recipient was chosen: stored with the item and
/// shown to staff.
public struct HostingTrace: Codable, Sendable, Equatable {
    /// What chose the recipient, in the order the gateway tries: a domain rule, the address the analyst
    /// observed (or the URL's address literal), an address the host name resolves to now, the AS number
    /// of one of those addresses, the hosting country a peer hotline covers; `none` when nothing did.
    public enum Basis: String, Codable, Sendable {
        case domain
        case ip
        case resolvedAddress = "resolved_address"
        case asn
        case hostingCountry = "hosting_country"
        /// No provider here hosts it, and the country RDAP gives for its network is a peer hotline's.
        case rdapCountry = "rdap_country"
        case none
    }

    /// What became of the host name's lookup.
    public enum Resolution: String, Codable, Sendable {
        /// A domain rule matched, or the host is an address: nothing to look up.
        case notNeeded = "not_needed"
        /// No resolver is configured (`TAKEDOWN_DNS_SERVER`).
        case off
        case resolved
        /// The name does not exist (NXDOMAIN).
        case nameNotFound = "name_not_found"
        /// No answer within the time limit, or a failed or malformed one.
        case failed
    }

    /// The URL's host.
    public var host: String?
    public var resolution: Resolution
    /// The addresses the host resolved to (A and AAAA), at most 16.
    public var addresses: [String]
    /// The address the AS number and country are for: the observed one, else the first resolved.
    public var address: String?
    public var asn: Int?
    public var asName: String?
    /// ISO 3166-1 alpha-2 country of the address's AS range.
    public var country: String?
    public var basis: Basis
    public var tracedAt: Date
    /// What RDAP said about the network and domain of an item nothing else routed (when RDAP is set up).
    public var rdap: RDAPFindings?

    public init(
        host: String?, resolution: Resolution, addresses: [String] = [], address: String? = nil,
        asn: Int? = nil, asName: String? = nil, country: String? = nil, basis: Basis, tracedAt: Date
    ) {
        self.host = host
        self.resolution = resolution
        self.addresses = addresses
        self.address = address
        self.asn = asn
        self.asName = asName
        self.country = country
        self.basis = basis
        self.tracedAt = tracedAt
    }
}

/// A range of addresses announced by one AS, as the operator's IP-to-ASN table holds it.
public struct ASNRange: Sendable, Equatable {
    /// First and last address, both of one family.
    public var first: IPAddress
    public var last: IPAddress
    public var asn: Int
    public var country: String?
    public var name: String?

    public init(first: IPAddress, last: IPAddress, asn: Int, country: String?, name: String?) {
        self.first = first
        self.last = last
        self.asn = asn
        self.country = country
        self.name = name
    }

    public func contains(_ address: IPAddress) -> Bool {
        let key = address.rangeKey
        return !key.lexicographicallyPrecedes(first.rangeKey) && !last.rangeKey.lexicographicallyPrecedes(key)
    }
}

extension IPAddress {
    /// The address as 16 bytes that order every address of the internet (an IPv4 address as its
    /// IPv4-mapped IPv6 form), as the stores index the ASN table by it.
    public var rangeKey: [UInt8] {
        bytes.count == 16 ? bytes : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + bytes
    }

    /// The address of a range key (an IPv4-mapped key is the IPv4 address).
    public init?(rangeKey: [UInt8]) {
        guard rangeKey.count == 16 else { return nil }
        if rangeKey.prefix(10).allSatisfy({ $0 == 0 }), rangeKey[10] == 0xFF, rangeKey[11] == 0xFF {
            self.init(bytes: Array(rangeKey.suffix(4)))
        } else {
            self.init(bytes: rangeKey)
        }
    }

    /// The last address of a CIDR range.
    static func last(of range: IPRange) -> IPAddress {
        var bytes = range.base.bytes
        var remaining = range.prefixLength
        for index in bytes.indices {
            let kept = max(0, min(8, remaining))
            bytes[index] |= UInt8(truncatingIfNeeded: 0xFF >> kept)
            remaining -= kept
        }
        return IPAddress(bytes: bytes)
    }
}
