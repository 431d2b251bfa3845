import Foundation

/// A typed identifier with a readable prefix (`ptn_…`, `case_…`, `ntc_…`, `tok_…`, `sla_…`).
public protocol PrefixedIdentifier: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible
where RawValue == String {
    static var prefix: String { get }
    init(rawValue: String)
}

extension PrefixedIdentifier {
    /// A new identifier: the prefix and 128 random bits in lower-case Crockford base32.
    public static func generate() -> Self {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Self(rawValue: prefix + Base32.encode(bytes))
    }

    /// Parses a client-supplied identifier, refusing anything without the right prefix or alphabet.
    public static func parse(_ text: String) -> Self? {
        guard text.hasPrefix(prefix), text.count <= prefix.count + 32 else { return nil }
        let body = text.dropFirst(prefix.count)
        guard !body.isEmpty, body.allSatisfy({ Base32.alphabet.contains($0) }) else { return nil }
        return Self(rawValue: text)
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct PartnerID: PrefixedIdentifier {
    public static let prefix = "ptn_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct CaseID: PrefixedIdentifier {
    public static let prefix = "case_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct NoticeID: PrefixedIdentifier {
    public static let prefix = "ntc_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public struct SLAPolicyID: PrefixedIdentifier {
    public static let prefix = "sla_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The default policy, built from the settings (`TAKEDOWN_DEFAULT_DEADLINE_HOURS`, `TAKEDOWN_LADDER`).
    public static let standard = SLAPolicyID(rawValue: "sla_default")

    /// A client-supplied policy id: a generated one or `sla_default`.
    public static func parsePolicy(_ text: String) -> SLAPolicyID? {
        text == standard.rawValue ? standard : parse(text)
    }
}

public struct TokenID: PrefixedIdentifier {
    public static let prefix = "tok_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// Lower-case Crockford base32, used for identifiers because it is URL-safe and unambiguous to read aloud.
enum Base32 {
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    static func encode(_ bytes: [UInt8]) -> String {
        var output = ""
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }
}

public struct HoldID: PrefixedIdentifier {
    public static let prefix = "hold_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}
