import Foundation
import TakedownModel

#if canImport(Glibc)
    import Glibc
#endif

/// The system's resolver (`getaddrinfo`), called off the cooperative thread pool because it blocks.
/// A cancelled lookup returns `.failed` at once (the call itself finishes in the background), so a
/// DNS server that stalls holds a check no longer than its time limit.
public struct SystemResolver: HostResolver {
    public init() {}

    public func lookup(_ host: String) async -> HostLookup {
        await BlockingCall.run(cancelled: .failed) { Self.getaddrinfo(host) }
    }

    static func getaddrinfo(_ host: String) -> HostLookup {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = Glibc.getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result else { return status == EAI_NONAME ? .nameNotFound : .failed }
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
                // A scoped address (`fe80::1%eth0`) loses its zone; the guard refuses link-local anyway.
                if let address = IPAddress(text.split(separator: "%").first.map(String.init) ?? text),
                    !addresses.contains(address)
                {
                    addresses.append(address)
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses.isEmpty ? .failed : .addresses(addresses)
    }
}
