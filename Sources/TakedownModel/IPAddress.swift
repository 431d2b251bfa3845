#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as 4 or 16 bytes, parsed and printed by the C library.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// The four bytes at `offset` of an IPv6 address as an IPv4 address (the tail of an IPv4-mapped or
    /// NAT64 address, bytes 2...5 of a 6to4 one); nil for an IPv4 address or an offset out of range.
    public func embeddedIPv4(at offset: Int) -> IPAddress? {
        guard bytes.count == 16, offset >= 0, offset <= 12 else { return nil }
        return IPAddress(bytes: Array(bytes[offset..<offset + 4]))
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address range in CIDR notation; a bare address is a range of one.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    public let base: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let base = IPAddress(String(parts[0])) else { return nil }
        let maxLength = base.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maxLength).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maxLength
        }
        // Keep the network address only: `192.0.2.1/24` is the range `192.0.2.0/24`.
        var bytes = base.bytes
        var remaining = prefixLength
        for index in bytes.indices {
            let bits = max(0, min(8, remaining))
            bytes[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            remaining -= bits
        }
        self.base = IPAddress(bytes: bytes)
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefixLength
        for index in base.bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if base.bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(base)/\(prefixLength)" }
}
