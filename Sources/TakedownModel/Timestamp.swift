import Foundation

/// RFC 3339 UTC timestamps with milliseconds, as every document and API answer writes them.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        date.formatted(style)
    }

    /// Parses RFC 3339 with or without fractional seconds.
    public static func parse(_ text: String) -> Date? {
        if let date = try? style.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
