import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// The IP-to-ASN table, keyed by each range's first address as 16 bytes, and each case item's trace.
    static let hostingTraceSchema = [
        """
        CREATE TABLE asn_ranges (
            first bytea PRIMARY KEY,
            last bytea NOT NULL,
            asn bigint NOT NULL,
            country text,
            name text
        )
        """,
        "ALTER TABLE case_items ADD COLUMN trace text",
    ]

    /// Rows per multi-row insert while replacing the table.
    static let asnBatch = 5_000

    public func replaceASNTable(_ ranges: [ASNRange]) async throws {
        try await transaction { transaction in
            try await transaction.run("DELETE FROM asn_ranges")
            var start = 0
            while start < ranges.count {
                let batch = ranges[start..<min(start + Self.asnBatch, ranges.count)]
                let firsts = batch.map { Hex.encode($0.first.rangeKey) }
                let lasts = batch.map { Hex.encode($0.last.rangeKey) }
                let asns = batch.map { Int64($0.asn) }
                let countries = batch.map { $0.country ?? "" }
                let names = batch.map { $0.name ?? "" }
                try await transaction.run(
                    """
                    INSERT INTO asn_ranges (first, last, asn, country, name)
                    SELECT decode(f, 'hex'), decode(l, 'hex'), a, NULLIF(c, ''), NULLIF(n, '')
                    FROM UNNEST(\(firsts)::text[], \(lasts)::text[], \(asns)::bigint[], \(countries)::text[],
                                \(names)::text[]) AS t(f, l, a, c, n)
                    """)
                start += Self.asnBatch
            }
        }
    }

    public func asnRanges(containing addresses: [IPAddress]) async throws -> [IPAddress: ASNRange] {
        var found: [IPAddress: ASNRange] = [:]
        for address in Set(addresses) {
            let key = Hex.encode(address.rangeKey)
            let rows = try await rows(
                """
                SELECT encode(first, 'hex') AS first, encode(last, 'hex') AS last, asn, country, name
                FROM asn_ranges WHERE first <= decode(\(key), 'hex') ORDER BY first DESC LIMIT 1
                """)
            guard let row = rows.first, let range = try Self.asnRange(row), range.contains(address) else { continue }
            found[address] = range
        }
        return found
    }

    public func asnRangeCount() async throws -> Int {
        Int(try await rows("SELECT COUNT(*) AS n FROM asn_ranges").first?.get("n", as: Int64.self) ?? 0)
    }

    static func asnRange(_ row: PostgresRandomAccessRow) throws -> ASNRange? {
        guard let first = IPAddress(rangeKey: unhex(try row.get("first"))),
            let last = IPAddress(rangeKey: unhex(try row.get("last")))
        else { return nil }
        return ASNRange(
            first: first, last: last, asn: Int(try row.get("asn", as: Int64.self)), country: try row.get("country"),
            name: try row.get("name"))
    }
}

private func unhex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
        guard let byte = UInt8(text[index..<next], radix: 16) else { return [] }
        bytes.append(byte)
        index = next
    }
    return bytes
}
