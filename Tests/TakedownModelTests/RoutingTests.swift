import Foundation
import TakedownModel
import Testing

@Suite("Routing, addresses and identifiers")
struct RoutingTests {
    static func partner(_ domains: [String], _ ranges: [String] = [], kind: PartnerKind = .hostingProvider) -> Partner {
        Partner(
            id: .generate(), name: "p", kind: kind, contactEmail: "a@b.test", locale: "en", jurisdiction: "GB",
            routing: RoutingRules(domains: domains, ipRanges: ranges), delivery: DeliveryChannels(), createdAt: Date(),
            updatedAt: Date())
    }

    @Test("the longest matching domain wins, subdomains included")
    func domains() throws {
        let broad = Self.partner(["example.com"])
        let narrow = Self.partner(["cdn.example.com"])
        let table = RoutingTable(partners: [broad, narrow])
        #expect(try table.route(url: "https://example.com/a", ip: nil).get() == broad.id)
        #expect(try table.route(url: "https://www.example.com/a", ip: nil).get() == broad.id)
        #expect(try table.route(url: "https://img.cdn.example.com/a", ip: nil).get() == narrow.id)
        #expect(try table.route(url: "https://CDN.Example.COM./a", ip: nil).get() == narrow.id)
        #expect(throws: UnroutedReason.noMatchingDomain) {
            try table.route(url: "https://notexample.com/a", ip: nil).get()
        }
    }

    @Test("without a domain match, the narrowest IP range holding the item's address wins")
    func ranges() throws {
        let wide = Self.partner([], ["198.51.100.0/24"])
        let slim = Self.partner([], ["198.51.100.128/25"])
        let v6 = Self.partner([], ["2001:db8:1::/48"])
        let table = RoutingTable(partners: [wide, slim, v6])
        #expect(try table.route(url: "https://x.test/", ip: "198.51.100.7").get() == wide.id)
        #expect(try table.route(url: "https://x.test/", ip: "198.51.100.200").get() == slim.id)
        #expect(try table.route(url: "https://x.test/", ip: "2001:db8:1:ffff::1").get() == v6.id)
        #expect(try table.route(url: "http://198.51.100.9/a.jpg", ip: nil).get() == wide.id)
        #expect(throws: UnroutedReason.noMatchingPartner) {
            try table.route(url: "https://x.test/", ip: "203.0.113.1").get()
        }
    }

    @Test("only hosting providers receive routed notices")
    func onlyProviders() throws {
        let police = Self.partner(["example.com"], kind: .lawEnforcement)
        #expect(throws: UnroutedReason.noMatchingDomain) {
            try RoutingTable(partners: [police]).route(url: "https://example.com/", ip: nil).get()
        }
    }

    @Test("ranges parse and match bit by bit")
    func cidr() throws {
        let range = try #require(IPRange("10.1.2.3/12"))
        #expect(range.contains(IPAddress("10.15.255.255")!))
        #expect(!range.contains(IPAddress("10.16.0.0")!))
        #expect(!range.contains(IPAddress("::ffff:10.1.2.3")!))
        #expect(IPRange("10.0.0.0/33") == nil)
        #expect(IPRange("::/129") == nil)
        #expect(IPRange("1.2.3") == nil)
        #expect(IPRange("192.0.2.1")?.prefixLength == 32)
        #expect(IPAddress("2001:0DB8:0:0::1")?.description == "2001:db8::1")
    }

    @Test("cursors round-trip and garbage is refused")
    func cursors() {
        for position: Int64 in [0, 1, 42, 9_000_000_000] {
            #expect(Cursor.decode(Cursor.encode(position)) == position)
        }
        for bad in ["", "zzz", "cDE=x", "!!", Cursor.encode(1) + "A", String(repeating: "a", count: 40)] {
            #expect(Cursor.decode(bad) == nil, "\(bad)")
        }
    }

    @Test("identifiers carry their prefix and 128 random bits")
    func identifiers() {
        let id = NoticeID.generate()
        #expect(id.rawValue.hasPrefix("ntc_"))
        #expect(id.rawValue.count == 4 + 26)
        #expect(NoticeID.parse(id.rawValue) == id)
        #expect(NoticeID.parse("case_" + id.rawValue.dropFirst(4)) == nil)
        #expect(NoticeID.parse("ntc_UPPER") == nil)
        #expect(NoticeID.parse("ntc_") == nil)
        #expect(Set((0..<1000).map { _ in CaseID.generate() }).count == 1000)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("written as Foundation's ISO 8601 style writes them, to the millisecond and to the second")
    func sameAsFoundation() {
        let milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        var dates = [
            0, 1, 0.001, 0.999, 0.9995, 0.0004999, 59.999, 86_399.999, 951_782_400, 1_800_000_000.25, 4_102_444_799.999,
        ]
        .map { Date(timeIntervalSince1970: $0) }
        for _ in 0..<50_000 {
            // Whole milliseconds as the stores keep them, and arbitrary fractions as clocks give them.
            let seconds = Double(Int.random(in: 0...4_102_444_800, using: &generator))
            dates.append(
                Date(timeIntervalSince1970: seconds + Double(Int.random(in: 0...999, using: &generator)) / 1000))
            dates.append(Date(timeIntervalSince1970: seconds + Double.random(in: 0..<1, using: &generator)))
        }
        dates.append(Date())
        for date in dates {
            #expect(Timestamp.format(date) == date.formatted(milliseconds), "\(date.timeIntervalSince1970)")
            #expect(Timestamp.formatSeconds(date) == date.formatted(.iso8601), "\(date.timeIntervalSince1970)")
        }
    }

    @Test("RFC 3339 with offsets, fractions and lower case; invalid dates refused")
    func parse() {
        let base = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
        #expect(Timestamp.parse("2027-01-15T08:00:00Z") == base)
        #expect(Timestamp.parse("2027-01-15t08:00:00z") == base)
        #expect(Timestamp.parse("2027-01-15T09:30:00+01:30") == base)
        #expect(Timestamp.parse("2027-01-15T07:00:00-01:00") == base)
        #expect(Timestamp.parse("2027-01-15T08:00:00.250Z") == base.addingTimeInterval(0.25))
        #expect(Timestamp.format(base.addingTimeInterval(0.25)) == "2027-01-15T08:00:00.250Z")
        for bad in [
            "2027-01-15", "2027-01-15T08:00:00", "2027-02-30T08:00:00Z", "2027-13-01T00:00:00Z",
            "2027-01-15T08:00:00.Z", "2027-01-15T08:00:00+0100", "yesterday", "2027-01-15T25:00:00Z",
        ] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }
}
