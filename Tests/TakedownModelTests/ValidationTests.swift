import Foundation
import TakedownModel
import Testing

@Suite("Case and partner validation")
struct ValidationTests {
    static func item(
        url: String? = "https://cdn.example.com/a.jpg",
        hashes: CaseSubmission.HashesInput? = .init(sha256: String(repeating: "AB", count: 32))
    )
        -> CaseSubmission.ItemInput
    {
        CaseSubmission.ItemInput(
            url: url, observedAt: Date(timeIntervalSince1970: 1_800_000_000), ip: nil, hashes: hashes)
    }

    static func submission(items: [CaseSubmission.ItemInput]? = [item()]) -> CaseSubmission {
        CaseSubmission(
            reference: "HL-1", category: .init(ukGrade: "A", classification: "B2"), mediaType: "video", notes: nil,
            items: items)
    }

    func fields(_ submission: CaseSubmission) -> [String] {
        do {
            _ = try submission.validated(id: .generate(), at: Date(), by: "analyst:t")
            return []
        } catch {
            return error.errors.map(\.name)
        }
    }

    @Test("a good case validates and lower-cases its hashes")
    func good() throws {
        let record = try Self.submission().validated(id: .generate(), at: Date(), by: "analyst:t")
        #expect(record.items[0].hashes.sha256 == String(repeating: "ab", count: 32))
        #expect(record.category == Category(ukGrade: .a, classification: .b2))
        #expect(record.mediaType == .video)
    }

    @Test("every missing field is named")
    func missing() {
        let empty = CaseSubmission(reference: nil, category: nil, mediaType: nil, notes: nil, items: nil)
        #expect(fields(empty) == ["reference", "category.uk_grade", "media_type", "items"])
    }

    @Test("unknown enum values are refused")
    func enums() {
        var bad = Self.submission()
        bad.category = .init(ukGrade: "D", classification: "C9")
        bad.mediaType = "audio"
        #expect(fields(bad) == ["category.uk_grade", "category.classification", "media_type"])
    }

    @Test(
        "URLs must be absolute http(s) of at most 2048 characters",
        arguments: [
            "ftp://example.com/a", "/relative/path", "https://", "not a url", "javascript:alert(1)", "https://[:]/",
            "https://[zz]/", "https://example.com/a#b#c",
            "https://example.com/" + String(repeating: "a", count: 2030),
        ])
    func badURL(_ url: String) {
        #expect(fields(Self.submission(items: [Self.item(url: url)])) == ["items[0].url"])
    }

    @Test("a 2048-character URL is accepted")
    func longestURL() {
        let url = "https://example.com/" + String(repeating: "a", count: 2048 - 20)
        #expect(url.count == 2048)
        #expect(fields(Self.submission(items: [Self.item(url: url)])).isEmpty)
    }

    @Test(
        "hashes must have their exact lengths and alphabets",
        arguments: [
            (CaseSubmission.HashesInput(md5: String(repeating: "a", count: 31)), "items[0].hashes.md5"),
            (CaseSubmission.HashesInput(sha1: String(repeating: "g", count: 40)), "items[0].hashes.sha1"),
            (CaseSubmission.HashesInput(sha256: String(repeating: "a", count: 65)), "items[0].hashes.sha256"),
            (CaseSubmission.HashesInput(pdq: String(repeating: "a", count: 63)), "items[0].hashes.pdq"),
            (
                CaseSubmission.HashesInput(pdq: String(repeating: "a", count: 64), pdqQuality: 101),
                "items[0].hashes.pdq_quality"
            ),
            (
                CaseSubmission.HashesInput(pdq: String(repeating: "a", count: 64), pdqQuality: -1),
                "items[0].hashes.pdq_quality"
            ),
            (
                CaseSubmission.HashesInput(sha256: String(repeating: "a", count: 64), pdqQuality: 50),
                "items[0].hashes.pdq_quality"
            ),
            (CaseSubmission.HashesInput(photodna: "not base64!"), "items[0].hashes.photodna"),
            (CaseSubmission.HashesInput(), "items[0].hashes"),
        ])
    func badHashes(_ hashes: CaseSubmission.HashesInput, _ field: String) {
        #expect(fields(Self.submission(items: [Self.item(hashes: hashes)])) == [field])
    }

    @Test("a case holds 1 to 10,000 items with distinct URLs")
    func itemCounts() {
        #expect(fields(Self.submission(items: [])) == ["items"])
        let many = (0...CaseSubmission.maxItems).map { Self.item(url: "https://example.com/\($0)") }
        #expect(fields(Self.submission(items: many)) == ["items"])
        #expect(fields(Self.submission(items: Array(many.prefix(CaseSubmission.maxItems)))).isEmpty)
        #expect(fields(Self.submission(items: [Self.item(), Self.item()])) == ["items[1].url"])
    }

    @Test("an item IP must be an address")
    func itemIP() {
        var item = Self.item()
        item.ip = "300.1.1.1"
        #expect(fields(Self.submission(items: [item])) == ["items[0].ip"])
        item.ip = "2001:DB8::1"
        let record = try? Self.submission(items: [item]).validated(id: .generate(), at: Date(), by: "t")
        #expect(record?.items[0].ip == "2001:db8::1")
    }

    @Test("partner input is checked field by field")
    func partnerInput() throws {
        let input = PartnerInput(
            name: "  Example Hosting ", kind: "hosting_provider", contactEmail: "abuse@example.com", locale: "de-AT",
            jurisdiction: "de",
            routing: .init(domains: ["Example.COM."], ipRanges: ["192.0.2.0/24", "2001:db8::/32"], asns: [64500]),
            delivery: .init(webhookUrl: "https://hooks.example.com/n", email: "notices@example.com"))
        let partner = try input.created(id: .generate(), at: Date())
        #expect(partner.name == "Example Hosting")
        #expect(partner.jurisdiction == "DE")
        #expect(partner.routing.domains == ["example.com"])
        #expect(partner.routing.ipRanges == ["192.0.2.0/24", "2001:db8::/32"])

        let bad = PartnerInput(
            name: "", kind: "isp", contactEmail: "nobody", locale: "english", jurisdiction: "GBR",
            routing: .init(domains: ["-bad-.test"], ipRanges: ["10.0.0.0/33"], asns: [0]),
            delivery: .init(webhookUrl: "mailto:x@example.com", email: "x"))
        do {
            _ = try bad.created(id: .generate(), at: Date())
            Issue.record("an invalid partner was accepted")
        } catch {
            #expect(
                error.errors.map(\.name) == [
                    "name", "kind", "contact_email", "locale", "jurisdiction", "routing.domains[0]",
                    "routing.ip_ranges[0]",
                    "routing.asns[0]", "delivery.webhook_url", "delivery.email",
                ])
        }
    }

    @Test("a patch changes only what it names")
    func partnerPatch() throws {
        let partner = try PartnerInput(
            name: "P", kind: "hotline", contactEmail: "a@hotline.test", locale: "en", jurisdiction: "FR"
        ).created(id: .generate(), at: Date(timeIntervalSince1970: 0))
        let patched = try PartnerInput(locale: "fr").applied(to: partner, at: Date(timeIntervalSince1970: 60))
        #expect(patched.locale == "fr")
        #expect(patched.name == "P")
        #expect(patched.kind == .hotline)
        #expect(patched.updatedAt == Date(timeIntervalSince1970: 60))
    }
}

@Suite("URL and hash normal forms")
struct NormalFormTests {
    @Test("full-width digits are not hexadecimal")
    func fullWidthHex() {
        #expect(!Syntax.isHex(String(repeating: "ａ", count: 32), length: 32))
        #expect(Syntax.isHex(String(repeating: "aF09", count: 8), length: 32))
    }

    @Test("internationalised URLs become plain URIs; hosts compare in punycode")
    func internationalised() {
        #expect(
            Syntax.normalisedWebURL("https://bücher.test/bild-ü.jpg") == "https://xn--bcher-kva.test/bild-%C3%BC.jpg")
        #expect(Syntax.normalisedWebURL("https://example.com/a%20b") == "https://example.com/a%20b")
        #expect(Syntax.routingHost(of: "https://[2001:DB8::5]/x") == "2001:db8::5")
        #expect(Syntax.routingHost(of: "https://Example.COM./x") == "example.com")
        #expect(Syntax.asciiDomain("Bücher.test.") == "xn--bcher-kva.test")
        #expect(Syntax.asciiDomain("https://x.test/") == nil)
        let partner = Partner(
            id: .generate(), name: "p", kind: .hostingProvider, contactEmail: "a@b.test", locale: "en",
            jurisdiction: "DE",
            routing: RoutingRules(domains: ["xn--bcher-kva.test"]), delivery: DeliveryChannels(), createdAt: Date(),
            updatedAt: Date())
        let table = RoutingTable(partners: [partner])
        #expect((try? table.route(url: "https://xn--bcher-kva.test/x.jpg", ip: nil).get()) == partner.id)
        #expect((try? table.route(url: "https://cdn.bücher.test/x.jpg", ip: nil).get()) == partner.id)
    }

    @Test("a range is kept as its network address")
    func networkAddress() {
        #expect(IPRange("192.0.2.77/24")?.description == "192.0.2.0/24")
        #expect(IPRange("2001:db8::1/32")?.description == "2001:db8::/32")
        #expect(IPRange("0.0.0.0/0")?.contains(IPAddress("203.0.113.1")!) == true)
    }
}

@Suite("Byte encodings")
struct ByteEncodingTests {
    /// Every length's remainder, against Foundation's base64 with the URL alphabet and no padding.
    @Test("base64url matches RFC 4648 §5 for every length, and round-trips")
    func base64url() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == expected, "length \(length)")
            #expect(Base64URL.decode(encoded) == Data(bytes), "length \(length)")
        }
        #expect(Base64URL.encode(Data([0xFB, 0xFF])) == "-_8")
        for bad in ["a+b", "a/b", "a=", "ä", "a b", "a\u{0}b"] { #expect(Base64URL.decode(bad) == nil, "\(bad)") }
    }

    @Test("hex is two lower-case digits a byte")
    func hex() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        let bytes = (0...255).map { UInt8($0) }
        #expect(Hex.encode(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
    }
}
