import Foundation

/// The operator's IP-to-ASN table as `takedown asn import` reads it: tab-separated lines in either shape the
/// public data sets use,
///
///     192.0.2.0/24          64500   GB   EXAMPLE-NET          (CIDR, AS number, country, name)
///     192.0.2.0  192.0.2.255  64500   GB   EXAMPLE-NET       (first, last, AS number, country, name)
///
/// with the AS number bare or as `AS64500`, the country as ISO 3166-1 alpha-2 (`None`, `ZZ` or empty for
/// none) and the name optional. Blank lines and `#` comments are skipped; AS 0 ("not routed") lines are
/// dropped. The file is taken whole or not at all: any malformed line, or ranges that overlap, refuse it
/// with the line numbers.
public struct ASNTable: Sendable {
    public private(set) var ranges: [ASNRange] = []
    /// Lines kept, and lines of AS 0 dropped.
    public private(set) var dropped = 0

    /// At most this many ranges (the public IPv4 and IPv6 tables hold about 600,000 together).
    public static let maxRanges = 5_000_000
    public static let maxLineBytes = 1_024
    static let maxNameCharacters = 200

    public struct ImportError: Error, Sendable, CustomStringConvertible {
        /// The first problems, each with its line number.
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    private var lines: [Int] = []
    private var problems: [String] = []

    public init() {}

    /// Reads the whole text; throws `ImportError` naming up to 20 bad lines.
    public static func parse(_ text: String) throws(ImportError) -> ASNTable {
        var table = ASNTable()
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            table.add(line: line, number: number)
            if table.problems.count >= 20 { break }
        }
        return try table.finish()
    }

    /// Adds one line of the file (without its newline).
    public mutating func add(line: Substring, number: Int) {
        guard problems.count < 20 else { return }
        if line.utf8.count > Self.maxLineBytes {
            problems.append("line \(number): longer than \(Self.maxLineBytes) bytes")
            return
        }
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return }
        let fields = trimmed.split(separator: "\t", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        do throws(LineError) {
            guard let range = try Self.range(fields) else {
                dropped += 1
                return
            }
            guard ranges.count < Self.maxRanges else {
                problems.append("line \(number): more than \(Self.maxRanges) ranges")
                return
            }
            ranges.append(range)
            lines.append(number)
        } catch {
            problems.append("line \(number): \(error.reason)")
        }
    }

    /// The table sorted by first address, or the problems found; overlapping ranges are a problem (a lookup
    /// must find one AS).
    public mutating func finish() throws(ImportError) -> ASNTable {
        if problems.isEmpty {
            let firsts = ranges.map(\.first.rangeKey)
            let order = ranges.indices.sorted { firsts[$0].lexicographicallyPrecedes(firsts[$1]) }
            ranges = order.map { ranges[$0] }
            lines = order.map { lines[$0] }
            let lasts = ranges.map(\.last.rangeKey)
            for index in ranges.indices.dropFirst()
            where !lasts[index - 1].lexicographicallyPrecedes(firsts[order[index]]) {
                problems.append(
                    "line \(lines[index]): overlaps the range of line \(lines[index - 1]) (\(ranges[index - 1].first)–\(ranges[index - 1].last))"
                )
                if problems.count >= 20 { break }
            }
        }
        guard problems.isEmpty else { throw ImportError(problems: problems) }
        return self
    }

    struct LineError: Error {
        var reason: String
    }

    /// The range a line describes, or nil for AS 0.
    static func range(_ fields: [String]) throws(LineError) -> ASNRange? {
        let first: IPAddress
        let last: IPAddress
        let rest: ArraySlice<String>
        if fields.count >= 3, fields[0].contains("/") {
            guard let cidr = IPRange(fields[0]) else {
                throw LineError(reason: "\(quoted(fields[0])) is not a CIDR range")
            }
            first = cidr.base
            last = IPAddress.last(of: cidr)
            rest = fields[1...]
        } else if fields.count >= 4, let start = IPAddress(fields[0]) {
            guard let end = IPAddress(fields[1]) else {
                throw LineError(reason: "\(quoted(fields[1])) is not an address")
            }
            guard start.bytes.count == end.bytes.count else {
                throw LineError(reason: "the first and last address are of different families")
            }
            guard !end.bytes.lexicographicallyPrecedes(start.bytes) else {
                throw LineError(reason: "the last address \(end) is before the first \(start)")
            }
            first = start
            last = end
            rest = fields[2...]
        } else {
            throw LineError(
                reason:
                    "expected CIDR, AS number, country[, name] or first, last, AS number, country[, name], tab-separated"
            )
        }
        var number = Substring(rest[rest.startIndex])
        if number.uppercased().hasPrefix("AS") { number = number.dropFirst(2) }
        guard number.allSatisfy(\.isASCII), let asn = Int(number), (0...4_294_967_295).contains(asn) else {
            throw LineError(reason: "\(quoted(rest[rest.startIndex])) is not an AS number")
        }
        guard asn != 0 else { return nil }
        let countryField = rest.count > 1 ? rest[rest.startIndex + 1] : ""
        var country: String?
        if !["", "None", "ZZ", "-"].contains(countryField) {
            guard Syntax.isCountryCode(countryField.uppercased()) else {
                throw LineError(reason: "\(quoted(countryField)) is not an ISO 3166-1 alpha-2 country")
            }
            country = countryField.uppercased()
        }
        let name = rest.count > 2 ? String(rest[rest.startIndex + 2].prefix(maxNameCharacters)) : nil
        return ASNRange(first: first, last: last, asn: asn, country: country, name: name?.isEmpty == true ? nil : name)
    }

    static func quoted(_ text: String) -> String {
        "\"" + String(text.prefix(40)) + (text.count > 40 ? "…" : "") + "\""
    }
}
