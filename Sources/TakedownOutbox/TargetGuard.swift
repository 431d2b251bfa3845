import Foundation
import TakedownModel

#if canImport(Glibc)
    import Glibc
#endif

/// Refuses targets that resolve to loopback, private, link-local (cloud metadata included), shared or
/// reserved addresses, unless the operator allows them (`TAKEDOWN_ALLOW_PRIVATE_TARGETS=1`) or the
/// address is on an explicit allow-list (which lets a test reach one loopback address and no other).
public struct TargetGuard: Sendable {
    public var allowPrivate: Bool
    /// Ranges allowed even though they are private (empty in production).
    public var allowed: [IPRange]

    public init(allowPrivate: Bool, allowed: [IPRange] = []) {
        self.allowPrivate = allowPrivate
        self.allowed = allowed
    }

    /// What a host name resolves to, as far as contacting it goes.
    public enum Verdict: Sendable, Equatable {
        case allowed
        case refused(String)
        /// DNS has no address for the name: permanently (it does not exist) or for now.
        case unresolvable(permanent: Bool)
    }

    static let blocked: [IPRange] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
        "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8",
    ].compactMap(IPRange.init)

    /// Nil when every address of `host` may be contacted, else why not.
    public func refusal(host: String) -> String? {
        if allowPrivate { return nil }
        let addresses = Self.resolve(host)
        guard !addresses.isEmpty else { return nil }  // let the transport report the DNS failure
        for address in addresses where Self.isBlocked(address) && !allowed.contains(where: { $0.contains(address) }) {
            return "\(host) resolves to \(address), a loopback, private or link-local address"
        }
        return nil
    }

    /// Resolves `host` (always, so a name that does not exist is told apart) and judges every address.
    public func verdict(host: String) -> Verdict {
        let (addresses, status) = Self.lookup(host)
        guard !addresses.isEmpty else {
            return .unresolvable(permanent: status == EAI_NONAME)
        }
        if allowPrivate { return .allowed }
        for address in addresses where Self.isBlocked(address) && !allowed.contains(where: { $0.contains(address) }) {
            return .refused("\(host) resolves to \(address), a loopback, private or link-local address")
        }
        return .allowed
    }

    public static func isBlocked(_ address: IPAddress) -> Bool {
        if address.bytes.count == 16, address.bytes.prefix(10).allSatisfy({ $0 == 0 }),
            address.bytes[10] == 0xFF, address.bytes[11] == 0xFF,
            let mapped = IPAddress(address.bytes.suffix(4).map(String.init).joined(separator: "."))
        {
            return isBlocked(mapped)
        }
        return blocked.contains { $0.contains(address) }
    }

    static func resolve(_ host: String) -> [IPAddress] {
        lookup(host).addresses
    }

    /// The addresses of a host, and `getaddrinfo`'s status (0 when it answered).
    static func lookup(_ host: String) -> (addresses: [IPAddress], status: Int32) {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = IPAddress(bare) { return ([literal], 0) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bare, nil, &hints, &result)
        guard status == 0, let first = result else { return ([], status) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
                == 0
            {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let address = IPAddress(text.split(separator: "%").first.map(String.init) ?? text) {
                    addresses.append(address)
                }
            }
            cursor = info.pointee.ai_next
        }
        return (addresses, 0)
    }
}
