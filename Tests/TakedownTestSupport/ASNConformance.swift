import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The IP-to-ASN table part of the storage contract.
public enum ASNConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "the IP-to-ASN table is replaced whole and finds the range holding each address": table
    ]

    static func table(_ store: any GatewayStore) async throws {
        let address = { (text: String) in IPAddress(text)! }
        #expect(try await store.asnRangeCount() == 0)
        #expect(try await store.asnRanges(containing: [address("198.51.100.7")]).isEmpty)
        let first = try ASNTable.parse(
            """
            192.0.2.0/24\t64500\tGB\tEXAMPLE-GB
            198.51.100.0/24\t64501\tFR\tEXAMPLE-FR
            198.51.101.0\t198.51.101.127\t64502\tNone
            2001:db8::/32\t64503\tDE\tEXAMPLE-DE
            """)
        try await store.replaceASNTable(first.ranges)
        #expect(try await store.asnRangeCount() == 4)
        let found = try await store.asnRanges(containing: [
            address("198.51.100.0"), address("198.51.100.255"), address("198.51.101.127"), address("198.51.101.128"),
            address("2001:db8:1::1"), address("::ffff:192.0.2.9"), address("203.0.113.1"), address("::1"),
            address("255.255.255.255"), address("0.0.0.0"),
        ])
        #expect(found[address("198.51.100.0")]?.asn == 64501)
        #expect(found[address("198.51.100.255")]?.country == "FR")
        #expect(found[address("198.51.100.255")]?.name == "EXAMPLE-FR")
        #expect(found[address("198.51.101.127")]?.asn == 64502)
        #expect(found[address("198.51.101.127")]?.country == nil)
        #expect(found[address("2001:db8:1::1")]?.asn == 64503)
        #expect(found[address("::ffff:192.0.2.9")]?.asn == 64500)
        #expect(found.count == 5)
        #expect(found[address("198.51.100.0")] == first.ranges[1])

        // A second import replaces the first whole.
        let second = try ASNTable.parse("203.0.113.0/24\tAS64510\tNL")
        try await store.replaceASNTable(second.ranges)
        #expect(try await store.asnRangeCount() == 1)
        let now = try await store.asnRanges(containing: [address("198.51.100.7"), address("203.0.113.200")])
        #expect(now.keys.map(\.description) == ["203.0.113.200"])
        #expect(now[address("203.0.113.200")]?.asn == 64510)

        // A table of some size goes in in one call (the stores batch it).
        var lines: [String] = []
        for a in 0..<40 {
            for b in 0..<250 { lines.append("10.\(a).\(b).0/24\t\(65_000 + a)\tGB") }
        }
        let large = try ASNTable.parse(lines.joined(separator: "\n"))
        try await store.replaceASNTable(large.ranges)
        #expect(try await store.asnRangeCount() == 10_000)
        #expect(
            try await store.asnRanges(containing: [address("10.39.249.200")])[address("10.39.249.200")]?.asn == 65_039)
        try await store.replaceASNTable([])
        #expect(try await store.asnRangeCount() == 0)
    }
}
