import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("API: hosting trace at intake")
struct HostingTraceAPITests {
    @Test("items route by domain, observed address, resolved address and AS number; each keeps its trace")
    func trace() async throws {
        let dns = try LoopbackDNSServer([
            "de-host.test": .addresses(["198.51.100.7"]),
            "fr-host.test": .addresses(["203.0.113.9", "2001:db8::9"]),
            "www.fr-alias.test": .alias("fr-host.test"),
            "gone.test": .missing,
            "slow.test": .silent,
            "lost.test": .addresses(["192.0.2.200"]),
        ])
        defer { dns.stop() }
        try await API.run(configure: {
            $0.dnsServer = (IPAddress("127.0.0.1")!, dns.port)
            $0.dnsTimeout = 0.3
        }) { api async throws in
            try await api.test.store.replaceASNTable(
                try ASNTable.parse(
                    """
                    203.0.113.0/24\t64501\tFR\tEXAMPLE-FR
                    192.0.2.0/24\t64999\tNL\tNOBODY-NL
                    """
                ).ranges)
            let gb = try await api.partner("GB", domains: ["gb-host.test"])
            let de = try await api.partner("DE", domains: [], ranges: ["198.51.100.0/24"])
            let fr = try await api.partner("FR", domains: [], asns: [64501])
            let reply = try await api.call(
                .post, "/v1/cases",
                json: API.caseBody([
                    API.item("https://cdn.gb-host.test/1"), API.item("https://de-host.test/2"),
                    API.item("https://fr-host.test/3"), API.item("https://www.fr-alias.test/4"),
                    API.item("https://gone.test/5"), API.item("https://slow.test/6"), API.item("https://lost.test/7"),
                    API.item("https://observed.test/8", ip: "203.0.113.77"),
                ]))
            #expect(reply.status == .created, "\(reply.text)")
            let notices = try #require(reply["notices"] as? [[String: Any]])
            let recipients = Dictionary(
                uniqueKeysWithValues: notices.map {
                    ($0["partner_id"] as? String ?? "", $0["items"] as? [String] ?? [])
                })
            #expect(recipients[gb.id] == ["https://cdn.gb-host.test/1"])
            #expect(recipients[de.id] == ["https://de-host.test/2"])
            #expect(
                recipients[fr.id] == [
                    "https://fr-host.test/3", "https://www.fr-alias.test/4", "https://observed.test/8",
                ])
            let unrouted = try #require(reply["unrouted"] as? [[String: String]])
            #expect(
                unrouted == [
                    ["url": "https://gone.test/5", "reason": "no_matching_domain"],
                    ["url": "https://slow.test/6", "reason": "no_matching_domain"],
                    ["url": "https://lost.test/7", "reason": "no_matching_partner"],
                ])

            let shown = try await api.call(.get, "/v1/cases/\(reply["id"] as? String ?? "")")
            let traces = try #require(shown["items"] as? [[String: Any]]).map { $0["trace"] as? [String: Any] ?? [:] }
            #expect(traces[0]["basis"] as? String == "domain" && traces[0]["resolution"] as? String == "not_needed")
            #expect(traces[1]["basis"] as? String == "resolved_address")
            #expect(traces[1]["addresses"] as? [String] == ["198.51.100.7"] && traces[1]["asn"] == nil)
            #expect(traces[2]["basis"] as? String == "asn" && traces[2]["asn"] as? Int == 64501)
            #expect(traces[2]["country"] as? String == "FR" && traces[2]["as_name"] as? String == "EXAMPLE-FR")
            #expect(traces[2]["addresses"] as? [String] == ["203.0.113.9", "2001:db8::9"])
            #expect(traces[2]["address"] as? String == "203.0.113.9")
            #expect(traces[3]["basis"] as? String == "asn" && traces[3]["resolution"] as? String == "resolved")
            #expect(traces[4]["resolution"] as? String == "name_not_found" && traces[4]["basis"] as? String == "none")
            #expect(traces[5]["resolution"] as? String == "failed")
            #expect(traces[6]["asn"] as? Int == 64999 && traces[6]["country"] as? String == "NL")
            // Observed at an address of AS64501; its name is unknown to the DNS server.
            #expect(traces[7]["basis"] as? String == "asn" && traces[7]["address"] as? String == "203.0.113.77")
            #expect(traces[7]["resolution"] as? String == "name_not_found" && traces[7]["asn"] as? Int == 64501)
            #expect(traces.allSatisfy { $0["traced_at"] is String })

            // A second case asks the DNS server nothing new: the answers are cached.
            let asked = dns.questions(for: "fr-host.test")
            let again = try await api.submit(["https://fr-host.test/9", "https://de-host.test/10"])
            #expect(again.status == .created)
            #expect(dns.questions(for: "fr-host.test") == asked)
        }
    }

    @Test("without a DNS server nothing is looked up: traces say so, and observed addresses still route by AS")
    func off() async throws {
        try await API.run { api async throws in
            try await api.test.store.replaceASNTable(try ASNTable.parse("203.0.113.0/24\t64501\tFR").ranges)
            let fr = try await api.partner("FR", domains: [], asns: [64501])
            let reply = try await api.call(
                .post, "/v1/cases",
                json: API.caseBody([
                    API.item("https://fr-host.test/1"), API.item("https://observed.test/2", ip: "203.0.113.5"),
                ]))
            let notices = try #require(reply["notices"] as? [[String: Any]])
            #expect(notices.count == 1 && notices[0]["partner_id"] as? String == fr.id)
            let shown = try await api.call(.get, "/v1/cases/\(reply["id"] as? String ?? "")")
            let traces = try #require(shown["items"] as? [[String: Any]]).map { $0["trace"] as? [String: Any] ?? [:] }
            #expect(traces[0]["resolution"] as? String == "off" && traces[0]["basis"] as? String == "none")
            #expect(traces[1]["basis"] as? String == "asn" && traces[1]["address"] as? String == "203.0.113.5")
        }
    }

    @Test("an AS number held by one provider is refused to another")
    func asnOwner() async throws {
        try await API.run { api async throws in
            _ = try await api.partner("First", domains: [], asns: [64501])
            let reply = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Second", "kind": "hosting_provider", "contact_email": "abuse@second.test", "locale": "en",
                    "jurisdiction": "GB", "routing": ["domains": ["second.test"], "asns": [64501]],
                ])
            #expect(reply.isProblem(.unprocessableContent), "\(reply.text)")
            #expect(reply.text.contains("routing.asns[0]"))
        }
    }
}
