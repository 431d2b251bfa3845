import Foundation
import TakedownModel
import Testing

@Suite("Hosting trace: route order and the IP-to-ASN table")
struct HostingTraceTests {
    static func partner(_ domains: [String] = [], _ ranges: [String] = [], asns: [Int] = []) -> Partner {
        Partner(
            id: .generate(), name: "p", kind: .hostingProvider, contactEmail: "a@b.test", locale: "en",
            jurisdiction: "GB", routing: RoutingRules(domains: domains, ipRanges: ranges, asns: asns),
            delivery: DeliveryChannels(), createdAt: Date(), updatedAt: Date())
    }

    static func address(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test("a domain rule wins, then the observed address, then a resolved address, then an AS number")
    func order() throws {
        let byDomain = Self.partner(["hoster-gb.test"])
        let byObserved = Self.partner([], ["192.0.2.0/24"])
        let byResolved = Self.partner([], ["198.51.100.0/24"])
        let byASN = Self.partner(asns: [64501])
        let table = RoutingTable(partners: [byDomain, byObserved, byResolved, byASN])
        let resolved = [Self.address("198.51.100.7")]

        var routed = table.route(
            url: "https://www.hoster-gb.test/a", ip: "192.0.2.1", resolved: resolved, asns: [64501])
        #expect(try routed.route.get() == byDomain.id)
        #expect(routed.basis == .domain)
        routed = table.route(url: "https://x.test/a", ip: "192.0.2.1", resolved: resolved, asns: [64501])
        #expect(try routed.route.get() == byObserved.id)
        #expect(routed.basis == .ip)
        routed = table.route(url: "https://x.test/a", ip: "203.0.113.1", resolved: resolved, asns: [64501])
        #expect(try routed.route.get() == byResolved.id)
        #expect(routed.basis == .resolvedAddress)
        routed = table.route(
            url: "https://x.test/a", ip: nil, resolved: [Self.address("203.0.113.5")], asns: [64999, 64501])
        #expect(try routed.route.get() == byASN.id)
        #expect(routed.basis == .asn)
        // Nothing matches: with addresses known it is no matching partner, without them no matching domain.
        routed = table.route(url: "https://x.test/a", ip: nil, resolved: [Self.address("203.0.113.5")], asns: [])
        #expect(throws: UnroutedReason.noMatchingPartner) { try routed.route.get() }
        #expect(routed.basis == .none)
        routed = table.route(url: "https://x.test/a", ip: nil, resolved: [], asns: [])
        #expect(throws: UnroutedReason.noMatchingDomain) { try routed.route.get() }
        // A URL's address literal is an observed address.
        routed = table.route(url: "http://192.0.2.9/a.jpg", ip: nil, resolved: [], asns: [])
        #expect(try routed.route.get() == byObserved.id)
        #expect(routed.basis == .ip)
    }

    @Test("an AS number, like a domain or a range, belongs to one provider")
    func asnConflicts() {
        let first = Self.partner(asns: [64500, 64501])
        let second = Self.partner(asns: [64502, 64501])
        let errors = RoutingConflicts.find(second, among: [first])
        #expect(errors.map(\.name) == ["routing.asns[1]"])
        #expect(RoutingConflicts.find(Self.partner(asns: [64503]), among: [first]).isEmpty)
    }

    @Test("both shapes of the public tables are read; AS 0 is dropped, `None` is no country")
    func parse() throws {
        let table = try ASNTable.parse(
            """
            # comment
            198.51.100.0/24\tAS64501\tFR\tEXAMPLE-FR

            203.0.113.0\t203.0.113.255\t64502\tde\tEXAMPLE-DE
            192.0.2.0\t192.0.2.255\t0\tNone\tNot routed
            2001:db8::/32\t64503\tNone
            """)
        #expect(table.ranges.count == 3)
        #expect(table.dropped == 1)
        let fr = try #require(table.ranges.first { $0.asn == 64501 })
        #expect(fr.first == Self.address("198.51.100.0") && fr.last == Self.address("198.51.100.255"))
        #expect(fr.country == "FR" && fr.name == "EXAMPLE-FR")
        #expect(table.ranges.first { $0.asn == 64502 }?.country == "DE")
        let v6 = try #require(table.ranges.first { $0.asn == 64503 })
        #expect(v6.country == nil && v6.name == nil)
        #expect(v6.contains(Self.address("2001:db8:ffff::1")))
        #expect(!v6.contains(Self.address("2001:db9::1")))
        #expect(fr.contains(Self.address("198.51.100.255")) && !fr.contains(Self.address("198.51.101.0")))
        #expect(!fr.contains(Self.address("::ffff:198.51.101.0")))
        // Sorted by first address, IPv4 (as mapped IPv6) before 2001:db8::.
        #expect(table.ranges.map(\.asn) == [64501, 64502, 64503])
    }

    @Test("malformed lines and overlapping ranges refuse the whole file, naming the lines")
    func refusals() {
        let cases: [(String, String)] = [
            ("198.51.100.0/33\t64501\tFR", "line 1: \"198.51.100.0/33\" is not a CIDR range"),
            ("198.51.100.0/24\tASX\tFR", "line 1: \"ASX\" is not an AS number"),
            ("198.51.100.0/24\t4294967296\tFR", "is not an AS number"),
            ("198.51.100.0/24\t64501\tFRA", "is not an ISO 3166-1 alpha-2 country"),
            ("198.51.100.0\t2001:db8::\t64501\tFR", "different families"),
            ("198.51.100.9\t198.51.100.1\t64501\tFR", "is before the first"),
            ("198.51.100.0 64501 FR", "tab-separated"),
            ("\n\n198.51.100.0\tnope\t64501\tFR", "line 3: \"nope\" is not an address"),
            ("198.51.100.0/24\t64501\tFR\n198.51.100.128/25\t64502\tFR", "line 2: overlaps the range of line 1"),
            (String(repeating: "a", count: 2_000), "line 1: longer than 1024 bytes"),
            ("198.51.100.0/24\t\u{0661}\tFR", "is not an AS number"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ASNTable.parse(text)
                Issue.record("accepted \(text.prefix(60))")
            } catch {
                #expect(error.description.contains(expected), "\(error.description) for \(text.prefix(60))")
            }
        }
        // A file of garbage reports the first 20 lines and stops.
        let garbage = String(repeating: "not a line\n", count: 100_000)
        do {
            _ = try ASNTable.parse(garbage)
            Issue.record("accepted garbage")
        } catch {
            #expect(error.problems.count == 20)
        }
    }

    @Test("a trace round-trips through its JSON with the documented names")
    func coding() throws {
        let trace = HostingTrace(
            host: "fr-host.test", resolution: .resolved, addresses: ["203.0.113.9"], address: "203.0.113.9", asn: 64501,
            asName: "EXAMPLE-FR", country: "FR", basis: .asn, tracedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let encoded = try WireFormat.encoder().encode(trace)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["basis"] as? String == "asn" && object["as_name"] as? String == "EXAMPLE-FR")
        #expect(object["resolution"] as? String == "resolved")
        #expect(try WireFormat.decoder().decode(HostingTrace.self, from: encoded) == trace)
    }
}
