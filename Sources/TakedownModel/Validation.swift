import Foundation

/// One field at fault in a request, named by its JSON path (`items[2].hashes.md5`).
public struct FieldError: Codable, Sendable, Equatable {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }
}

/// Every field at fault in one request; nothing is changed when this is thrown.
public struct ValidationError: Error, Sendable, Equatable {
    public var errors: [FieldError]

    public init(_ errors: [FieldError]) { self.errors = errors }
}

/// Collects field errors while a request is checked.
public struct Validator: Sendable {
    public private(set) var errors: [FieldError] = []

    public init() {}

    public mutating func fail(_ name: String, _ reason: String) {
        errors.append(FieldError(name: name, reason: reason))
    }

    /// A required value, or an error naming it.
    public mutating func require<T>(_ value: T?, _ name: String) -> T? {
        if value == nil { fail(name, "is required") }
        return value
    }

    /// A required enum value parsed from its wire name.
    public mutating func choice<E: RawRepresentable & CaseIterable>(
        _ raw: String?, _ name: String, required: Bool = true
    ) -> E? where E.RawValue == String {
        guard let raw else {
            if required { fail(name, "is required") }
            return nil
        }
        guard let value = E(rawValue: raw) else {
            fail(name, "must be one of: " + E.allCases.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        return value
    }

    /// A required string, trimmed, within a length.
    /// A typed id from a request body field; nil (and a field error) when present but malformed.
    public mutating func id<ID: PrefixedIdentifier>(_ raw: String?, _ name: String, as type: ID.Type) -> ID? {
        guard let raw else { return nil }
        guard let id = ID.parse(raw) else {
            fail(name, "is not a \(name.replacingOccurrences(of: "_id", with: "")) id")
            return nil
        }
        return id
    }

    public mutating func text(_ raw: String?, _ name: String, max: Int, required: Bool = true) -> String? {
        guard let raw else {
            if required { fail(name, "is required") }
            return nil
        }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            fail(name, "must not be empty")
            return nil
        }
        if trimmed.count > max {
            fail(name, "must be at most \(max) characters")
            return nil
        }
        // Free text (reasons, notes: the long fields) may hold line breaks and tabs; a label none. Neither
        // may hold other control characters or bidirectional controls, which could forge an email header or
        // make a name read as something else.
        let multiline = max > 500
        if let bad = trimmed.unicodeScalars.first(where: { !Self.allowed($0, multiline: multiline) }) {
            let code = "U+" + String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4)
            fail(name, "must not contain control or bidirectional characters (\(code))")
            return nil
        }
        return trimmed
    }

    static func allowed(_ scalar: Unicode.Scalar, multiline: Bool) -> Bool {
        if multiline, scalar == "\n" || scalar == "\r" || scalar == "\t" { return true }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return false
        default: return !properties.isBidiControl && !properties.isNoncharacterCodePoint
        }
    }

    public func check() throws(ValidationError) {
        if !errors.isEmpty { throw ValidationError(errors) }
    }
}

/// Syntax checks shared by every request type.
public enum Syntax {
    /// An absolute http(s) URL with a host, at most 2,048 characters, as the WHATWG URL standard reads it.
    public static func isWebURL(_ text: String) -> Bool {
        WebURL(text) != nil
    }

    /// A plain address check: one `@`, a dotted domain, no spaces. Deliverability is the mail relay's business.
    /// A plain addr-spec: a dot-atom local part (RFC 5322 atext, no quotes, commas, semicolons or colons,
    /// which could add a recipient or a header) at a dotted domain. Deliverability is the relay's business.
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, text.utf8.count <= 254, parts[0].utf8.count <= 64 else { return false }
        let atoms = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let atext = Set("!#$%&'*+-/=?^_`{|}~".utf8)
        guard
            atoms.allSatisfy({ atom in
                !atom.isEmpty
                    && atom.utf8.allSatisfy {
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || atext.contains($0)
                    }
            })
        else { return false }
        return isHostname(String(parts[1]))
    }

    /// A DNS name of letters, digits and hyphens, with at least one dot.
    public static func isHostname(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, text.count <= 253 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// ASCII hexadecimal only: `Character.isHexDigit` also accepts full-width digits.
    public static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length
            && text.utf8.allSatisfy { (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) }
    }

    /// The URI form of a web URL, as the WHATWG URL standard writes it: punycode host, one spelling of an
    /// IPv4 address, non-ASCII percent-encoded, dot segments resolved. Nil when it is no web URL.
    public static func normalisedWebURL(_ text: String) -> String? {
        guard let url = WebURL(text), url.href.utf8.count <= 2048 else { return nil }
        return url.href
    }

    /// The host of a URL as routing and XARF compare it: ASCII (punycode), lower case, no brackets.
    public static func routingHost(of url: String) -> String? {
        WebURL(url)?.host
    }

    /// A routing domain in its ASCII form: `bücher.test` becomes `xn--bcher-kva.test`.
    public static func asciiDomain(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: ".")).lowercased()
        guard !trimmed.contains("/"), !trimmed.contains(":"), !trimmed.contains("@"),
            let host = URLComponents(string: "https://\(trimmed)/")?.encodedHost?.lowercased(), isHostname(host)
        else { return nil }
        return host
    }

    public static func isBase64(_ text: String) -> Bool {
        !text.isEmpty && text.count % 4 == 0 && Data(base64Encoded: text) != nil
    }

    /// ISO 3166-1 alpha-2: two ASCII letters (case folded by the caller).
    public static func isCountryCode(_ text: String) -> Bool {
        text.count == 2 && text.allSatisfy { $0.isASCII && $0.isLetter }
    }

    /// A BCP 47 language tag of the simple kind notices use: `en`, `de`, `fr-CA`, `pt-BR`.
    public static func isLocale(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count),
            first.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}
