import Foundation
import TakedownModel
import Testing

@Suite("Referrals: routing to peer hotlines, and applying their updates")
struct ReferralTests {
    static func hotline(_ countries: [String], gateway: Bool = true) -> Partner {
        Partner(
            id: .generate(), name: "hotline", kind: .hotline, contactEmail: "a@hotline.test", locale: "en",
            jurisdiction: countries.first ?? "DE", routing: RoutingRules(countries: countries),
            delivery: DeliveryChannels(
                gateway: gateway
                    ? PeerGateway(baseUrl: "https://peer.test", keys: [], keysPinnedAt: Date()) : nil),
            createdAt: Date(), updatedAt: Date())
    }

    @Test("a peer hotline gets an item only when no provider here hosts it, by the item's hosting country")
    func routeOrder() {
        let provider = HostingTraceTests.partner(["gb-host.test"], ["198.51.100.0/24"], asns: [64500])
        let de = Self.hotline(["DE", "AT"])
        let silent = Self.hotline(["FR"], gateway: false)
        let table = RoutingTable(partners: [provider, de, silent])
        let address = HostingTraceTests.address
        // Domain, address and AS rules win over a country a peer covers.
        #expect(
            table.route(url: "https://gb-host.test/a", ip: nil, resolved: [], asns: [], country: "DE").route
                == .success(provider.id))
        #expect(
            table.route(url: "https://x.test/a", ip: nil, resolved: [address("198.51.100.9")], asns: [], country: "DE")
                .basis == .resolvedAddress)
        #expect(table.route(url: "https://x.test/a", ip: nil, resolved: [], asns: [64500], country: "DE").basis == .asn)
        let referred = table.route(
            url: "https://x.test/a", ip: nil, resolved: [address("192.0.2.1")], asns: [64999], country: "AT")
        #expect(referred.route == .success(de.id))
        #expect(referred.basis == .hostingCountry)
        // A hotline without a gateway takes no referrals; no country, no referral; referrals off, none.
        #expect(
            table.route(url: "https://x.test/a", ip: nil, resolved: [], asns: [], country: "FR").route
                == .failure(.noMatchingDomain))
        #expect(table.route(url: "https://x.test/a", ip: nil, resolved: [], asns: [], country: nil).basis == .none)
        #expect(
            table.route(url: "https://x.test/a", ip: nil, resolved: [], asns: [], country: "DE", referrals: false).route
                == .failure(.noMatchingDomain))
        #expect(table.hotline(covering: "AT") == de.id)
    }

    @Test("a hosting country is covered by one hotline only; only hotlines cover countries")
    func conflicts() throws {
        let first = Self.hotline(["DE"])
        let second = Self.hotline(["FR", "DE"])
        #expect(RoutingConflicts.find(second, among: [first]).map(\.name) == ["routing.countries[1]"])
        #expect(RoutingConflicts.find(Self.hotline(["FR"]), among: [first]).isEmpty)
        let input = PartnerInput(
            name: "p", kind: "hosting_provider", contactEmail: "a@b.test", jurisdiction: "GB",
            routing: .init(countries: ["DE"]))
        #expect(throws: ValidationError.self) { try input.created(id: .generate(), at: Date()) }
        let peer = PartnerInput(
            name: "p", kind: "hotline", contactEmail: "a@b.test", jurisdiction: "DE",
            routing: .init(countries: ["de", "xx1"]),
            delivery: .init(gateway: .init(baseUrl: "https://user:pw@peer.test/")))
        do {
            _ = try peer.created(id: .generate(), at: Date())
            Issue.record("expected a validation error")
        } catch {
            #expect(Set(error.errors.map(\.name)) == ["routing.countries[1]", "delivery.gateway.base_url"])
        }
        let ok = try PartnerInput(
            name: "p", kind: "hotline", contactEmail: "a@b.test", jurisdiction: "DE", routing: .init(countries: ["de"]),
            delivery: .init(gateway: .init(baseUrl: "https://peer.test/"))
        ).created(id: .generate(), at: Date())
        #expect(ok.routing.countries == ["DE"])
        #expect(ok.delivery.gateway?.baseUrl == "https://peer.test")
        #expect(ok.delivery.gateway?.keys.isEmpty == true)
    }

    @Test("a JWKS gives its Ed25519 keys with a kid; anything else is refused")
    func keys() throws {
        let x = Base64URL.encode(Data(repeating: 7, count: 32))
        let jwks =
            #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"\#(x)","kid":"k1"},{"kty":"RSA","n":"AQAB","kid":"r"},{"kty":"OKP","crv":"Ed25519","x":"short","kid":"k2"}]}"#
        #expect(try PeerKey.keys(fromJWKS: Data(jwks.utf8)) == [PeerKey(x: x, kid: "k1")])
        for bad in [
            "", "[]", #"{"keys":[]}"#, #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"\#(x)"}]}"#,
            String(repeating: "{", count: 100_000),
        ] {
            #expect(throws: ValidationError.self) { try PeerKey.keys(fromJWKS: Data(bad.utf8)) }
        }
    }

    static func apply(
        _ notice: inout Notice, status: String, sequence: Int, receivedAs: String, reason: String?,
        removals: [(url: String, at: Date)], at now: Date, actor: String
    ) -> Bool {
        notice.applyReferralUpdate(
            status: status, sequence: sequence, receivedAs: receivedAs, reason: reason, removals: removals, at: now,
            actor: actor)
    }

    @Test("a peer's updates go on the notice once each, in order, mapped onto its state")
    func updates() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var notice = Notice(
            id: .generate(), caseId: .generate(), partnerId: .generate(), status: .issued, issuedAt: now,
            deadlineAt: now.addingTimeInterval(86400),
            items: [NoticeItem(url: "https://a.test/1"), NoticeItem(url: "https://a.test/2")],
            document: Data(), jws: "", timeline: [TimelineEvent(at: now, event: "issued", actor: "analyst:x")])
        let later = now.addingTimeInterval(60)
        #expect(notice.referralStatus == nil)
        #expect(
            Self.apply(
                &notice,
                status: "accepted", sequence: 1, receivedAs: "rfl_x", reason: nil, removals: [], at: later,
                actor: "partner:p"))
        #expect(notice.status == .acknowledged)
        #expect(
            !Self.apply(
                &notice,
                status: "accepted", sequence: 1, receivedAs: "rfl_x", reason: nil, removals: [], at: later,
                actor: "partner:p"))
        // Removal of one URL at the peer's time (never before issue), then of the other.
        #expect(
            Self.apply(
                &notice,
                status: "acknowledged", sequence: 3, receivedAs: "rfl_x", reason: nil,
                removals: [("https://a.test/1", now.addingTimeInterval(-999)), ("https://elsewhere.test/", later)],
                at: later, actor: "partner:p"))
        #expect(notice.items[0].removedAt == now)
        #expect(notice.status == .acknowledged)
        // A late update (sequence 2) changes nothing.
        #expect(
            !Self.apply(
                &notice,
                status: "notice_issued", sequence: 2, receivedAs: "rfl_x", reason: nil, removals: [], at: later,
                actor: "partner:p"))
        #expect(
            Self.apply(
                &notice,
                status: "removed", sequence: 4, receivedAs: "rfl_x", reason: nil,
                removals: [("https://a.test/1", now), ("https://a.test/2", later)], at: later, actor: "partner:p"))
        #expect(notice.status == .removed)
        #expect(notice.removedAt == later)
        #expect(notice.referralStatus == "removed")
        #expect(notice.referralSequence == 4)
        #expect(notice.timeline.filter { $0.event.hasPrefix("referral_") }.count == 3)

        var declined = notice
        declined.status = .issued
        declined.timeline = []
        #expect(
            Self.apply(
                &declined,
                status: "declined", sequence: 1, receivedAs: "rfl_y", reason: "not ours", removals: [], at: later,
                actor: "partner:p"))
        #expect(declined.status == .unable)
        #expect(declined.timeline.first { $0.event == "referral_declined" }?.detail == "update 1 (rfl_y): not ours")
    }
}
