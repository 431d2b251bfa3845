import Foundation

/// The fields of an `application/x-www-form-urlencoded` body, in order, repeated names kept.
///
/// Written here rather than through Hummingbird's `URLEncodedFormDecoder`: the console must read the CSRF
/// field before any handler decodes the rest, and checkbox lists repeat a name without `[]`.
struct ConsoleForm: Sendable {
    private(set) var fields: [(name: String, value: String)] = []

    /// At most this many fields; a body with more is refused.
    static let maxFields = 2_100

    /// Parses a body; nil when it is not well-formed (bad percent-encoding, not UTF-8, too many fields).
    init?(body: some Collection<UInt8>) {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        var count = 0
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            count += 1
            guard count <= Self.maxFields else { return nil }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else {
                return nil
            }
            fields.append((name, value))
        }
    }

    init(fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    /// The first value of a field, trimmed; nil when absent or blank.
    subscript(_ name: String) -> String? {
        guard let value = fields.first(where: { $0.name == name })?.value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The raw first value of a field, untrimmed (a pasted batch keeps its lines).
    func raw(_ name: String) -> String? {
        fields.first(where: { $0.name == name })?.value
    }

    /// Every value of a repeated field, in order.
    func all(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    private static func decode(_ text: Substring) -> String? {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        guard spaced.contains("%") else { return spaced }
        return spaced.removingPercentEncoding
    }
}
