import Foundation
import TakedownModel
import Testing

/// What hostile or odd input does to the model's parsers: URLs read as a browser reads them, routing
/// that no spelling of an address escapes, labels that cannot carry control characters.
@Suite("Hostile input in the model")
struct HostileInputTests {
    @Test(
        "URLs are read as the WHATWG URL standard reads them",
        arguments: [
            ("https://a.example\\@b.example/", "https://a.example/@b.example/", "a.example"),
            ("HTTPS://A.Example:443/x/../y", "https://a.example/y", "a.example"),
            ("http://a.example:80", "http://a.example/", "a.example"),
            ("https://0xc0000205/", "https://192.0.2.5/", "192.0.2.5"),
            ("https://3221225989/p", "https://192.0.2.5/p", "192.0.2.5"),
            ("https://0300.0.02.05/", "https://192.0.2.5/", "192.0.2.5"),
            ("https://192.0.517/", "https://192.0.2.5/", "192.0.2.5"),
            ("https://[::FFFF:192.0.2.5]/", "https://[::ffff:192.0.2.5]/", "::ffff:192.0.2.5"),
            ("https:\\\\a.example\\b", "https://a.example/b", "a.example"),
            ("https://%41.example/", "https://a.example/", "a.example"),
            (
                "https://bücher.example/ä?q=ü#f", "https://xn--bcher-kva.example/%C3%A4?q=%C3%BC#f",
                "xn--bcher-kva.example"
            ),
            ("https://u:p@a.example/", "https://u:p@a.example/", "a.example"),
        ])
    func whatwg(input: String, href: String, host: String) throws {
        let url = try #require(WebURL(input))
        #expect(url.href == href)
        #expect(url.host == host)
        #expect(Syntax.routingHost(of: input) == host)
    }

    @Test(
        "what the standard refuses, and hosts no hosting URL needs, are refused",
        arguments: [
            "https://.b.example/", "https://b.example%00.c.example/", "https://a..example/", "https://a.example:0/",
            "https://a.example:99999/", "https://a.example:-1/", "https://a.example:8o/", "https://256.0.0.1/",
            "https://1.2.3.4.5/", "https://0x100000000/", "https://[1:2]/", "https://[::1/", "https://a b.example/",
            "https://a.example/\u{202E}x", "https://a.example/\n", "ftp://a.example/", "https:///", "https://@/",
            "https://a%2Fb.example/", "https://a<b.example/", "javascript:alert(1)", "",
            "https://" + String(repeating: "a", count: 64) + ".example/",
            "https://a.example/" + String(repeating: "x", count: 3000),
        ])
    func refused(input: String) {
        #expect(WebURL(input) == nil)
        #expect(Syntax.normalisedWebURL(input) == nil)
    }

    @Test("every spelling of an address a provider owns routes to it")
    func addressSpellings() throws {
        let owner = RoutingTests.partner([], ["192.0.2.0/24"])
        let table = RoutingTable(partners: [owner])
        for url in ["https://0xc0000205/", "https://3221225989/", "https://[::ffff:192.0.2.5]/", "https://192.0.2.5/"] {
            #expect(try table.route(url: url, ip: nil).get() == owner.id, "\(url)")
        }
        let victim = RoutingTests.partner(["b.example"])
        let browser = RoutingTests.partner(["a.example"])
        let both = RoutingTable(partners: [victim, browser])
        #expect(try both.route(url: "https://a.example\\@b.example/", ip: nil).get() == browser.id)
    }

    @Test("overlapping ranges and shared domains are conflicts, whatever their spelling")
    func conflicts() {
        let holder = RoutingTests.partner(["example.com"], ["192.0.2.0/24", "2001:db8::/32"])
        #expect(RoutingConflicts.find(RoutingTests.partner([], ["0.0.0.0/0"]), among: [holder]).count == 1)
        #expect(RoutingConflicts.find(RoutingTests.partner([], ["192.0.2.128/25"]), among: [holder]).count == 1)
        #expect(RoutingConflicts.find(RoutingTests.partner([], ["2001:db8:1::/48"]), among: [holder]).count == 1)
        #expect(RoutingConflicts.find(RoutingTests.partner(["example.com"]), among: [holder]).count == 1)
        #expect(RoutingConflicts.find(RoutingTests.partner([], ["192.0.3.0/24"]), among: [holder]).isEmpty)
        #expect(
            RoutingConflicts.find(RoutingTests.partner([], ["0.0.0.0/0"], kind: .lawEnforcement), among: [holder])
                .isEmpty)
        #expect(RoutingConflicts.find(holder, among: [holder]).isEmpty)
    }

    @Test(
        "labels refuse control and bidirectional characters; free text keeps its line breaks",
        arguments: ["a\rb", "a\nb", "a\u{0}b", "a\u{202E}b", "a\u{2066}b", "a\u{7F}b", "a\u{2028}b", "a\u{1B}[31mb"])
    func labels(text: String) {
        var label = Validator()
        #expect(label.text(text, "name", max: 100) == nil)
        #expect(label.errors.first?.name == "name")
        var prose = Validator()
        let kept = prose.text(text, "reason", max: 2000)
        let breaks = text.unicodeScalars.allSatisfy {
            $0 == "\n" || $0 == "\r"
                || ($0.value >= 0x20 && $0.value != 0x7F && $0.value != 0x2028 && !$0.properties.isBidiControl)
        }
        #expect((kept != nil) == breaks)
    }

    @Test("a timeline shown to a partner names only the partner itself")
    func timelineRedaction() {
        let me = PartnerID.generate()
        let other = PartnerID.generate()
        let events = [
            TimelineEvent(at: Date(), event: "issued", actor: "analyst:Jane Doe", detail: "to \(me)"),
            TimelineEvent(at: Date(), event: "delivered", actor: "partner:\(me)", detail: "retrieved by the recipient"),
            TimelineEvent(at: Date(), event: "escalated", actor: "system", detail: "to \(other)"),
            TimelineEvent(at: Date(), event: "withdrawn", actor: "admin:Root", detail: "duplicate"),
        ]
        let seen = events.map { $0.seen(by: me) }
        #expect(seen.map(\.actor) == ["hotline", "partner:\(me)", "hotline", "hotline"])
        #expect(!seen.contains { ($0.detail ?? "").contains("\(other)") || $0.actor.contains("Jane") })
        #expect(seen[3].detail == "duplicate")
    }

    @Test("ladder settings refuse infinite and huge delays")
    func ladder() {
        #expect(EscalationLadder(parsing: "inf:reminder", escalateTo: nil) == nil)
        #expect(EscalationLadder(parsing: "nan:reminder", escalateTo: nil) == nil)
        #expect(EscalationLadder(parsing: "1e300:expire", escalateTo: nil) == nil)
        #expect(EscalationLadder(parsing: "7200:reminder", escalateTo: nil) != nil)
    }
}
