import Foundation

/// An http(s) URL parsed and written the way the WHATWG URL standard does for special schemes, so the
/// host the gateway routes by is the host a browser would fetch from: `\` is a path separator, other
/// spellings of an IPv4 address (`0xc0000205`, `3221225989`, `0300.0.2.5`) are that address, a host is
/// percent-decoded and then checked, a default port is dropped. What the standard refuses is refused,
/// and so are a few things it lets through that no hosting URL needs: empty labels, port 0, whitespace.
/// The package ecosystem has no WHATWG parser for Swift on Linux (Foundation's `URL` follows RFC 3986),
/// hence this one, kept to what the standard says for http and https.
public struct WebURL: Sendable, Equatable {
    /// The serialised URL: ASCII only, punycode host, non-ASCII percent-encoded.
    public var href: String
    public var scheme: String
    /// The host as routing compares it: lower-case ASCII, an IPv6 address without brackets.
    public var host: String
    /// The host when it is an address literal.
    public var address: IPAddress?
    public var hasCredentials: Bool

    public init?(_ input: String) {
        // Printable ASCII holds no whitespace and no control or format character: only other text pays for
        // the check by characters.
        guard input.utf8.count <= 2048,
            input.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
                || !input.contains(where: { $0.isWhitespace || $0.isControlCharacter })
        else {
            return nil
        }
        // One fragment at most: a second `#` is a typo or an attempt to hide part of the URL.
        guard input.utf8.filter({ $0 == UInt8(ascii: "#") }).count <= 1, let colon = input.firstIndex(of: ":") else {
            return nil
        }
        let scheme = input[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = Substring(input[input.index(after: colon)...])
        // Special schemes: any run of slashes (either way round) starts the authority.
        while let first = rest.first, first == "/" || first == "\\" { rest = rest.dropFirst() }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "\\" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]

        var credentials = false
        if let at = authority.lastIndex(of: "@") {
            credentials = true
            authority = authority[authority.index(after: at)...]
        }
        var hostText = authority
        var port: Int?
        if let portColon = authority.lastIndex(of: ":"), !authority[portColon...].contains("]") {
            hostText = authority[..<portColon]
            let digits = authority[authority.index(after: portColon)...]
            if !digits.isEmpty {
                guard digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits),
                    (1...65535).contains(number)
                else { return nil }
                port = number
            }
        }
        guard let (host, address) = Self.host(hostText) else { return nil }
        if port == (scheme == "https" ? 443 : 80) { port = nil }

        guard let (path, query, fragment) = Self.pathQueryFragment(tail) else { return nil }
        let shownHost = address.map { $0.bytes.count == 16 ? "[\(host)]" : host } ?? host
        var href = "\(scheme)://"
        if credentials, let at = rest[..<authorityEnd].lastIndex(of: "@") {
            href += Self.encode(rest[..<at], keeping: Self.userinfoSafe) + "@"
        }
        href += shownHost + (port.map { ":\($0)" } ?? "") + path
        if let query { href += "?" + query }
        if let fragment { href += "#" + fragment }
        self.href = href
        self.scheme = scheme
        self.host = host
        self.address = address
        self.hasCredentials = credentials
    }

    /// The host as the standard parses it, with the address when it is one.
    static func host(_ text: Substring) -> (String, IPAddress?)? {
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), let address = IPAddress(String(text.dropFirst().dropLast())),
                address.bytes.count == 16
            else { return nil }
            return (address.description, address)
        }
        guard let decoded = percentDecoded(text), !decoded.unicodeScalars.contains(where: forbiddenInDomain) else {
            return nil
        }
        var ascii = decoded.lowercased()
        if !ascii.utf8.allSatisfy({ $0 < 0x80 }) {
            // IDNA: Foundation writes an internationalised host in punycode.
            guard let encoded = URLComponents(string: "https://\(decoded)/")?.encodedHost?.lowercased(),
                encoded.utf8.allSatisfy({ $0 < 0x80 })
            else { return nil }
            ascii = encoded
        }
        guard !ascii.unicodeScalars.contains(where: forbiddenInDomain) else { return nil }
        if endsInNumber(ascii) {
            guard let address = ipv4(ascii) else { return nil }
            return (address.description, address)
        }
        var labels = ascii.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }  // one trailing dot
        guard ascii.utf8.count <= 253, !labels.isEmpty,
            labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 })
        else { return nil }
        return (labels.joined(separator: "."), nil)
    }

    /// Whether the last label (a trailing dot aside) is a number: then the host must be an IPv4 address.
    static func endsInNumber(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last?.isEmpty == true, labels.count > 1 { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        return number(last) != nil
    }

    /// The standard's IPv4 parser: one to four parts, each decimal, `0x` hex or `0` octal, the last part
    /// filling the remaining bytes.
    static func ipv4(_ host: String) -> IPAddress? {
        var parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true, parts.count > 1 { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        let numbers = parts.map(number)
        guard numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.compactMap { $0 }
        guard values.dropLast().allSatisfy({ $0 <= 255 }), let last = values.last else { return nil }
        let room = 5 - values.count
        guard last < (UInt64(1) << (8 * UInt64(room))) else { return nil }
        var result = UInt64(last)
        for (index, value) in values.dropLast().enumerated() { result += value << (8 * UInt64(3 - index)) }
        return IPAddress(bytes: (0..<4).map { UInt8(truncatingIfNeeded: result >> (8 * UInt64(3 - $0))) })
    }

    static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.utf8.count <= 40 else { return nil }
        var digits = part
        var radix = 10
        if digits.count >= 2, digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count >= 2, digits.hasPrefix("0") {
            digits = digits.dropFirst()
            radix = 8
        }
        if digits.isEmpty { return 0 }
        guard digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return UInt64(digits, radix: radix)
    }

    static func forbiddenInDomain(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || scalar.value == 0x7F || "#%/:<>?@[\\]^|".unicodeScalars.contains(scalar)
    }

    /// Percent-decoded UTF-8, or nil when the bytes are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Path (dot segments resolved, `\` as `/`), query and fragment, each percent-encoded as the standard
    /// encodes them.
    static func pathQueryFragment(_ tail: Substring) -> (String, String?, String?)? {
        var rest = tail
        var fragment: String?
        if let hash = rest.firstIndex(of: "#") {
            fragment = encode(rest[rest.index(after: hash)...], keeping: fragmentSafe)
            rest = rest[..<hash]
        }
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            query = encode(rest[rest.index(after: mark)...], keeping: querySafe)
            rest = rest[..<mark]
        }
        var segments: [String] = []
        let raw = rest.replacingOccurrences(of: "\\", with: "/").split(separator: "/", omittingEmptySubsequences: false)
        for (index, segment) in raw.enumerated() where index > 0 || !segment.isEmpty {
            let lowered = segment.lowercased()
            let isLast = index == raw.count - 1
            switch lowered {
            case ".", "%2e":
                if isLast { segments.append("") }
            case "..", ".%2e", "%2e.", "%2e%2e":
                if !segments.isEmpty { segments.removeLast() }
                if isLast { segments.append("") }
            default:
                segments.append(encode(segment, keeping: pathSafe))
            }
        }
        return ("/" + segments.joined(separator: "/"), query, fragment)
    }

    static func encode(_ text: some StringProtocol, keeping safe: (UInt8) -> Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if safe(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func fragmentSafe(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !"\"<>`".utf8.contains(byte)
    }

    static func querySafe(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !"\"#<>'".utf8.contains(byte)
    }

    static func pathSafe(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !"\"#<>?`{}".utf8.contains(byte)
    }

    static func userinfoSafe(_ byte: UInt8) -> Bool {
        pathSafe(byte) && !"/@[\\]^|".utf8.contains(byte)
    }
}

extension Character {
    fileprivate var isControlCharacter: Bool {
        unicodeScalars.contains {
            $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
        }
    }
}
