import Foundation
import TakedownModel
import Testing

/// RDAP answers shaped as registries publish them (RIPE-style nested abuse role, ARIN-style top-level
/// abuse entity, a registrar's domain answer), and what hostile or broken answers come to.
@Suite("RDAP: answers, bootstrap and proposals")
struct RDAPTests {
    static let ripeNetwork = #"""
        {"rdapConformance":["cidr0","rdap_level_0","nro_rdap_profile_0"],"port43":"whois.ripe.net",
         "objectClassName":"ip network","handle":"203.0.113.0 - 203.0.113.255","startAddress":"203.0.113.0",
         "endAddress":"203.0.113.255","ipVersion":"v4","name":"EXAMPLE-FR-NET","type":"ASSIGNED PA","country":"fr",
         "cidr0_cidrs":[{"v4prefix":"203.0.113.0","length":24}],"status":["active"],
         "entities":[{"handle":"ORG-EX1-RIPE","objectClassName":"entity","roles":["registrant"],
           "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Example Hosting SAS"],["kind",{},"text","org"]]],
           "entities":[{"handle":"AR123-RIPE","objectClassName":"entity","roles":["abuse"],
             "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Abuse contact"],["kind",{},"text","group"],
               ["email",{"pref":"1"},"text","abuse@example-hosting.test"]]]}]}],
         "events":[{"eventAction":"registration","eventDate":"2020-01-01T00:00:00Z"}]}
        """#
    static let arinNetwork = #"""
        {"objectClassName":"ip network","handle":"NET-198-51-100-0-1","startAddress":"198.51.100.0",
         "endAddress":"198.51.100.127","ipVersion":"v4","name":"EXAMPLE-US","country":"US",
         "entities":[{"objectClassName":"entity","handle":"EX-ARIN","roles":["registrant"],"vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Example"]]]},
                     {"objectClassName":"entity","handle":"ABUSE-ARIN","roles":["abuse","noc"],
                      "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Abuse"],["email",{"type":"work"},"text","MAILTO:abuse@example-us.test"]]]}]}
        """#
    static let registrarDomain = #"""
        {"objectClassName":"domain","handle":"123_DOMAIN_TEST-VRSN","ldhName":"EXAMPLE-SHOP.TEST",
         "entities":[{"objectClassName":"entity","handle":"292","roles":["registrar"],
           "publicIds":[{"type":"IANA Registrar ID","identifier":"292"}],
           "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Example Registrar, Inc."]]],
           "entities":[{"objectClassName":"entity","roles":["abuse"],"vcardArray":["vcard",[["version",{},"text","4.0"],
             ["fn",{},"text",""],["tel",{"type":"voice"},"uri","tel:+1.5555555555"],["email",{},"text","abuse@registrar.test"]]]}]}],
         "nameservers":[{"objectClassName":"nameserver","ldhName":"NS1.EXAMPLE.TEST"}],"status":["client transfer prohibited"]}
        """#

    static func parse(_ text: String, _ kind: RDAPRecord.Kind) throws(RDAPFailure) -> RDAPRecord {
        try RDAPAnswer.parse(Data(text.utf8), kind: kind, source: "https://rdap.test/x")
    }

    @Test("an RIR's network answer gives its name, country, range and the nested abuse contact")
    func networks() throws {
        let ripe = try Self.parse(Self.ripeNetwork, .ipNetwork)
        #expect(ripe.name == "EXAMPLE-FR-NET")
        #expect(ripe.country == "FR")
        #expect(ripe.abuseEmail == "abuse@example-hosting.test")
        #expect(ripe.range?.description == "203.0.113.0/24")
        let arin = try Self.parse(Self.arinNetwork, .ipNetwork)
        #expect(arin.abuseEmail == "abuse@example-us.test")
        #expect(arin.range?.description == "198.51.100.0/25")
        var odd = arin
        odd.endAddress = "198.51.100.130"
        #expect(odd.range == nil, "a network that is not one CIDR range has no range")
    }

    @Test("a registrar's domain answer gives the registrar's abuse contact; none is none")
    func domains() throws {
        let domain = try Self.parse(Self.registrarDomain, .domain)
        #expect(domain.name == "EXAMPLE-SHOP.TEST")
        #expect(domain.abuseEmail == "abuse@registrar.test")
        #expect(domain.country == nil)
        let bare = try Self.parse(
            #"{"objectClassName":"domain","ldhName":"x.test","entities":[{"roles":["registrar"]}]}"#, .domain)
        #expect(bare.abuseEmail == nil)
        let badEmail = Self.registrarDomain.replacingOccurrences(of: "abuse@registrar.test", with: "not an email")
        #expect(try Self.parse(badEmail, .domain).abuseEmail == nil)
    }

    @Test("errors, the wrong object, garbage, deep nesting and huge answers are refused as such")
    func refusals() {
        #expect(throws: RDAPFailure.notFound) { try Self.parse(#"{"errorCode":404,"title":"Not Found"}"#, .ipNetwork) }
        #expect(throws: RDAPFailure.serverError(429, "Too Many Requests")) {
            try Self.parse(#"{"errorCode":429,"title":"Too Many Requests"}"#, .ipNetwork)
        }
        for bad in [
            "", "null", "[]", "{", #"{"objectClassName":"domain"}"#, String(repeating: "[", count: 100_000),
            #"{"objectClassName":"ip network","x":"# + String(repeating: "[", count: 40) + "1"
                + String(repeating: "]", count: 40) + "}",
        ] {
            #expect(throws: RDAPFailure.self) { try Self.parse(bad, .ipNetwork) }
        }
        let huge =
            #"{"objectClassName":"ip network","name":""# + String(repeating: "a", count: RDAPAnswer.maxBytes) + #""}"#
        #expect(throws: RDAPFailure.malformed("larger than \(RDAPAnswer.maxBytes) bytes")) {
            try Self.parse(huge, .ipNetwork)
        }
        // Brackets inside strings are not nesting; long names are cut; many entities are a bounded walk.
        let quoted =
            #"{"objectClassName":"ip network","name":""# + String(repeating: "[", count: 300) + #"","country":"FRA"}"#
        let record = try? Self.parse(quoted, .ipNetwork)
        #expect(record?.name?.count == 200)
        #expect(record?.country == nil)
        let many =
            #"{"objectClassName":"domain","entities":["#
            + Array(repeating: #"{"roles":["tech"]}"#, count: 5000).joined(separator: ",")
            + #",{"roles":["abuse"],"vcardArray":["vcard",[["email",{},"text","late@x.test"]]]}]}"#
        let bounded = try? Self.parse(many, .domain)
        #expect(bounded != nil)
        #expect(bounded?.abuseEmail == nil)
    }

    @Test("the bootstrap picks the narrowest range's server and the longest zone's; else the base URL")
    func bootstrap() throws {
        let ipv4 =
            #"{"version":"1.0","services":[[["203.0.113.0/24"],["http://rir-a.test/rdap/","https://rir-a.test/rdap/"]],[["203.0.0.0/8"],["https://rir-b.test/"]]]}"#
        let dns = #"{"version":"1.0","services":[[["test","shop.test"],["https://registry.test/rdap"]]]}"#
        let bootstrap = try RDAPBootstrap(files: [Data(ipv4.utf8), Data(dns.utf8)], fallback: "https://fallback.test/")
        #expect(bootstrap.url(for: IPAddress("203.0.113.9")!) == "https://rir-a.test/rdap/ip/203.0.113.9")
        #expect(bootstrap.url(for: IPAddress("203.0.5.1")!) == "https://rir-b.test/ip/203.0.5.1")
        #expect(bootstrap.url(for: IPAddress("192.0.2.1")!) == "https://fallback.test/ip/192.0.2.1")
        #expect(bootstrap.url(forDomain: "Example.SHOP.test") == "https://registry.test/rdap/domain/example.shop.test")
        #expect(bootstrap.url(forDomain: "example.invalid") == "https://fallback.test/domain/example.invalid")
        #expect(
            RDAPBootstrap(baseURL: "https://rdap.test").url(forDomain: "a.test") == "https://rdap.test/domain/a.test")
        #expect(throws: RDAPFailure.self) { try RDAPBootstrap(files: [Data("{}".utf8)]) }
        #expect(RDAPBootstrap.registrableDomain(of: "cdn.images.example-shop.test") == "example-shop.test")
        #expect(RDAPBootstrap.registrableDomain(of: "203.0.113.9") == nil)
        #expect(RDAPBootstrap.registrableDomain(of: "localhost") == nil)
    }

    @Test("a proposal takes the network's contact and range, else the registrar's contact and the domain")
    func proposals() throws {
        var trace = HostingTrace(host: "cdn.example-shop.test", resolution: .resolved, basis: .none, tracedAt: Date())
        #expect(trace.proposal == nil)
        trace.rdap = RDAPFindings(
            network: try Self.parse(Self.ripeNetwork, .ipNetwork), domain: try Self.parse(Self.registrarDomain, .domain)
        )
        #expect(trace.proposal?.abuseEmail == "abuse@example-hosting.test")
        #expect(trace.proposal?.ipRange == "203.0.113.0/24")
        #expect(trace.proposal?.country == "FR")
        trace.rdap?.network?.abuseEmail = nil
        #expect(trace.proposal?.abuseEmail == "abuse@registrar.test")
        #expect(trace.proposal?.ipRange == nil)
        #expect(trace.proposal?.domain == "example-shop.test")
    }
}
