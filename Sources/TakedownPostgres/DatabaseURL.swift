import Foundation

/// Database URLs as they may appear in messages and logs.
public enum DatabaseURL {
    /// The URL with every password masked, whatever its shape: the password of `scheme://user:password@host`
    /// (also when it holds characters a URL parser refuses), `password=` and similar parameters in the
    /// query or in a libpq keyword string (`host=h password=p`), percent-encoded names included. Where it
    /// cannot tell, it masks more, never less.
    public static func redacted(_ url: String) -> String {
        maskParameters(maskUserInfo(url))
    }

    /// Masks what lies between the first `:` of the user info and the last `@`: a password may hold `@`,
    /// `/`, `?` or `#` unescaped, and the host never holds `@`.
    static func maskUserInfo(_ text: String) -> String {
        let authorityStart = text.range(of: "://")?.upperBound ?? text.startIndex
        guard let at = text[authorityStart...].lastIndex(of: "@"),
            let colon = text[authorityStart..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }

    /// Masks the value of every parameter whose name (percent-decoded, any case) speaks of a password.
    /// Parameters are split at `&`, `;`, `?` and whitespace; a quoted keyword value is masked whole.
    static func maskParameters(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let equals = rest.firstIndex(of: "=") {
            let nameStart =
                rest[..<equals].lastIndex(where: { "&;?".contains($0) || $0.isWhitespace }).map {
                    rest.index(after: $0)
                } ?? rest.startIndex
            let name = String(rest[nameStart..<equals]).trimmingCharacters(in: .whitespaces)
            output += rest[...equals]
            rest = rest[rest.index(after: equals)...]
            guard isSecretName(name) else { continue }
            let end: Substring.Index
            if let quote = rest.first, quote == "'" || quote == "\"" {
                end = rest.dropFirst().firstIndex(of: quote).map { rest.index(after: $0) } ?? rest.endIndex
            } else {
                end = rest.firstIndex(where: { "&;#".contains($0) || $0.isWhitespace }) ?? rest.endIndex
            }
            output += "***"
            rest = rest[end...]
        }
        return output + rest
    }

    static func isSecretName(_ name: String) -> Bool {
        let decoded = (name.removingPercentEncoding ?? name).lowercased()
        return ["pass", "pwd", "secret"].contains { decoded.contains($0) }
    }
}
