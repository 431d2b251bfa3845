import Foundation
import TakedownModel

#if canImport(Glibc)
    import Glibc
#endif

/// Refuses targets that resolve to loopback, private, link-local (cloud metadata included), shared or
/// reserved addresses, unless the operator allows them (`TAKEDOWN_ALLOW_PRIVATE_TARGETS=1`).
public struct TargetGuard: Sendable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool) { self.allowPrivate = allowPrivate }

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
        for address in addresses where Self.isBlocked(address) {
            return "\(host) resolves to \(address), a loopback, private or link-local address"
        }
        return nil
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
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = IPAddress(bare) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, nil, &hints, &result) == 0, let first = result else { return [] }
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
        return addresses
    }
}
