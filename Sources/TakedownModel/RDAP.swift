import Foundation

/// What an RDAP server (RFC 9082/9083) said about an item's IP network or its domain: enough to route it
/// to a peer hotline by country, or to propose its abuse contact to an analyst.
public struct RDAPRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case ipNetwork = "ip_network"
        case domain
    }

    public var kind: Kind
    public var handle: String?
    /// The network's name, or the domain's LDH name.
    public var name: String?
    /// ISO 3166-1 alpha-2, upper case: the network's `country`.
    public var country: String?
    /// The network's first and last address.
    public var startAddress: String?
    public var endAddress: String?
    /// The email of the first entity with the `abuse` role (searched through nested entities).
    public var abuseEmail: String?
    /// The URL that was asked.
    public var source: String

    public init(
        kind: Kind, handle: String? = nil, name: String? = nil, country: String? = nil, startAddress: String? = nil,
        endAddress: String? = nil, abuseEmail: String? = nil, source: String
    ) {
        self.kind = kind
        self.handle = handle
        self.name = name
        self.country = country
        self.startAddress = startAddress
        self.endAddress = endAddress
        self.abuseEmail = abuseEmail
        self.source = source
    }

    /// The network as one CIDR range, when its first and last address bound exactly one.
    public var range: IPRange? {
        guard let first = startAddress.flatMap(IPAddress.init), let last = endAddress.flatMap(IPAddress.init),
            first.bytes.count == last.bytes.count
        else { return nil }
        for prefix in 0...(first.bytes.count * 8) {
            guard let range = IPRange("\(first)/\(prefix)"), range.base == first,
                Self.lastAddress(of: first.bytes, prefix: prefix) == last.bytes
            else { continue }
            return range
        }
        return nil
    }

    /// The last address of the range of `prefix` bits starting at `bytes`.
    static func lastAddress(of bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, prefix - index * 8))
            return keep == 8 ? byte : byte | UInt8(0xFF >> keep)
        }
    }
}

/// Why an RDAP question got no record.
public enum RDAPFailure: Error, Sendable, Equatable {
    /// The server answered that it holds nothing (404, or an error object with code 404).
    case notFound
    /// Another error object or status (the code and the first 200 characters of its title).
    case serverError(Int, String)
    /// No answer within the time limit, or a transport failure.
    case unreachable(String)
    /// An answer that is not an RDAP object of the kind asked (or over the size or nesting limit).
    case malformed(String)
    /// Neither the bootstrap nor a base URL names a server for it.
    case noServer
}

/// Reads RDAP responses as hostile input: at most 512 KiB, at most 32 levels of nesting, at most 256
/// entities visited, strings cut to 200 characters, and only the members a routing decision needs.
public enum RDAPAnswer {
    public static let maxBytes = 512 * 1024
    static let maxDepth = 32
    static let maxEntities = 256

    public static func parse(_ data: Data, kind: RDAPRecord.Kind, source: String) throws(RDAPFailure) -> RDAPRecord {
        guard data.count <= maxBytes else { throw .malformed("larger than \(maxBytes) bytes") }
        guard nesting(of: data) <= maxDepth else { throw .malformed("nested deeper than \(maxDepth) levels") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .malformed("not a JSON object")
        }
        if let code = object["errorCode"] as? Int {
            if code == 404 { throw .notFound }
            throw .serverError(code, text(object["title"]) ?? "")
        }
        let expected = kind == .ipNetwork ? "ip network" : "domain"
        guard let className = object["objectClassName"] as? String, className == expected else {
            throw .malformed("objectClassName is not \(expected)")
        }
        var record = RDAPRecord(kind: kind, source: source)
        record.handle = text(object["handle"])
        record.name = text(kind == .ipNetwork ? object["name"] : (object["ldhName"] ?? object["unicodeName"]))
        if let country = text(object["country"]), Syntax.isCountryCode(country) {
            record.country = country.uppercased()
        }
        if kind == .ipNetwork {
            record.startAddress = text(object["startAddress"]).flatMap(IPAddress.init)?.description
            record.endAddress = text(object["endAddress"]).flatMap(IPAddress.init)?.description
        }
        var budget = maxEntities
        record.abuseEmail = abuseEmail(in: object["entities"], depth: 0, budget: &budget)
        return record
    }

    /// The email of the first `abuse` entity, breadth first: the network's own before its registrar's.
    static func abuseEmail(in value: Any?, depth: Int, budget: inout Int) -> String? {
        guard depth < 6, let entities = value as? [Any] else { return nil }
        var nested: [Any] = []
        for case let entity as [String: Any] in entities {
            guard budget > 0 else { return nil }
            budget -= 1
            let roles = (entity["roles"] as? [Any])?.compactMap { $0 as? String } ?? []
            if roles.contains("abuse"), let email = email(inVCard: entity["vcardArray"]) { return email }
            if let inner = entity["entities"] { nested.append(inner) }
        }
        for inner in nested {
            if let email = abuseEmail(in: inner, depth: depth + 1, budget: &budget) { return email }
        }
        return nil
    }

    /// The first `email` property of a jCard (RFC 7095): `["vcard", [[name, params, type, value], …]]`.
    static func email(inVCard value: Any?) -> String? {
        guard let card = value as? [Any], card.count == 2, card[0] as? String == "vcard",
            let properties = card[1] as? [Any]
        else { return nil }
        for case let property as [Any] in properties.prefix(100) where property.count >= 4 {
            guard (property[0] as? String)?.lowercased() == "email", let address = property[3] as? String else {
                continue
            }
            let trimmed = address.trimmingCharacters(in: .whitespaces)
            let plain = trimmed.lowercased().hasPrefix("mailto:") ? String(trimmed.dropFirst(7)) : trimmed
            if Syntax.isEmail(plain) { return plain }
        }
        return nil
    }

    static func text(_ value: Any?) -> String? {
        guard let string = value as? String else { return nil }
        let cleaned = String(string.unicodeScalars.filter { !$0.properties.isWhitespace || $0 == " " }.prefix(200))
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? nil : cleaned
    }

    /// The deepest nesting of arrays and objects, outside strings.
    static func nesting(of data: Data) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

/// Which RDAP server answers for an address or a domain: the services of IANA's bootstrap files (RFC 9224,
/// `ipv4.json`, `ipv6.json`, `dns.json`, any number in one list), or one base URL for everything.
public struct RDAPBootstrap: Sendable {
    var ranges: [(IPRange, String)] = []
    var zones: [String: String] = [:]
    var fallback: String?

    /// One server for every question.
    public init(baseURL: String) {
        fallback = Self.trimmed(baseURL)
    }

    /// The services of bootstrap files: entries that parse as CIDR ranges are address services, the others
    /// DNS zones. Each service's HTTPS URL is preferred. Throws naming the first file at fault.
    public init(files: [Data], fallback: String? = nil) throws(RDAPFailure) {
        self.fallback = fallback.map(Self.trimmed)
        for (index, data) in files.enumerated() {
            guard data.count <= 4 * 1024 * 1024,
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let services = object["services"] as? [Any]
            else { throw .malformed("bootstrap file \(index + 1) is not an RFC 9224 registry") }
            for case let service as [Any] in services where service.count >= 2 {
                guard let entries = service[0] as? [String], let urls = service[1] as? [String],
                    let url = urls.first(where: { $0.lowercased().hasPrefix("https://") }) ?? urls.first,
                    WebURL(url) != nil
                else { continue }
                for entry in entries {
                    if entry.contains("/"), let range = IPRange(entry) {
                        ranges.append((range, Self.trimmed(url)))
                    } else if let zone = Syntax.asciiDomain(entry) ?? (entry.isEmpty ? nil : entry.lowercased()) {
                        zones[zone] = Self.trimmed(url)
                    }
                }
            }
        }
        ranges.sort { $0.0.prefixLength > $1.0.prefixLength }
    }

    static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// `{base}/ip/{address}` for the narrowest range holding it.
    public func url(for address: IPAddress) -> String? {
        let base = ranges.first { $0.0.contains(address) }?.1 ?? fallback
        return base.map { "\($0)/ip/\(address)" }
    }

    /// `{base}/domain/{name}` for the longest zone the name is in.
    public func url(forDomain name: String) -> String? {
        var candidate = name.lowercased()
        while true {
            if let base = zones[candidate] { return "\(base)/domain/\(name.lowercased())" }
            guard let dot = candidate.firstIndex(of: ".") else { break }
            candidate = String(candidate[candidate.index(after: dot)...])
        }
        return fallback.map { "\($0)/domain/\(name.lowercased())" }
    }

    /// The name RDAP is asked about for a host: its last two labels. Without the Public Suffix List, a name
    /// under a two-label suffix (`example.co.uk`) is asked about as the suffix (`co.uk`), which registries
    /// answer with an error: such an item gets no domain record, only its network's.
    public static func registrableDomain(of host: String) -> String? {
        guard IPAddress(host) == nil else { return nil }
        let labels = host.lowercased().split(separator: ".")
        guard labels.count >= 2 else { return nil }
        return labels.suffix(2).joined(separator: ".")
    }
}

/// Asks RDAP about an item's network and domain, with a cache; tests point it at a server on loopback.
public protocol RDAPLookup: Sendable {
    func lookup(address: IPAddress?, domain: String?) async -> RDAPFindings
}

/// What RDAP said about one item: its network's record and its domain's, or why not.
public struct RDAPFindings: Codable, Sendable, Equatable {
    public var network: RDAPRecord?
    public var domain: RDAPRecord?
    /// Why a question got no record (`network: not found`, …), for the trace.
    public var problems: [String]

    public init(network: RDAPRecord? = nil, domain: RDAPRecord? = nil, problems: [String] = []) {
        self.network = network
        self.domain = domain
        self.problems = problems
    }

    /// The hosting country: the network's.
    public var country: String? { network?.country }
    /// The abuse contact: the network's (the host's), else the domain's (its registrar's).
    public var abuseEmail: String? { network?.abuseEmail ?? domain?.abuseEmail }
}

/// An abuse contact RDAP named for an item nothing routed: what an analyst accepts in one call, creating
/// an email-only provider or adding the route to an existing one.
public struct RoutingProposal: Codable, Sendable, Equatable {
    public var abuseEmail: String
    /// The network's name, else the domain's.
    public var name: String?
    public var country: String?
    /// The network as one CIDR range, when it is one: the route a new or existing provider gets.
    public var ipRange: String?
    /// The registrable domain: the route when the network is not one range.
    public var domain: String?
    /// The RDAP URL the contact came from.
    public var source: String

    public init(
        abuseEmail: String, name: String?, country: String?, ipRange: String?, domain: String?, source: String
    ) {
        self.abuseEmail = abuseEmail
        self.name = name
        self.country = country
        self.ipRange = ipRange
        self.domain = domain
        self.source = source
    }
}

extension HostingTrace {
    /// The proposal RDAP's findings make for this item: its network's abuse contact (the host's), else its
    /// domain's (the registrar's); nil without one.
    public var proposal: RoutingProposal? {
        guard let rdap, let email = rdap.abuseEmail else { return nil }
        let fromNetwork = rdap.network?.abuseEmail != nil
        let record = fromNetwork ? rdap.network : rdap.domain
        return RoutingProposal(
            abuseEmail: email, name: record?.name ?? rdap.network?.name, country: rdap.country,
            ipRange: fromNetwork ? rdap.network?.range?.description : nil,
            domain: host.flatMap(RDAPBootstrap.registrableDomain(of:)), source: record?.source ?? "")
    }
}
