import Foundation
import TakedownModel
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// One gateway on both ends: it knows itself as a peer hotline (its own base URL and keys), so a referral
/// it issues can be posted back to it, and its status updates too. A second, in-test peer signs with a key
/// of its own for the refusals a real peer cannot be made to send.
@Suite("API: referrals between hotlines")
struct ReferralAPITests {
    static func jwks(_ keys: [PublicJWK]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(JWKSet(keys: keys))) as? [String: Any] ?? [:]
    }

    /// A compact JWS of `claims` as JSON, signed by `key`.
    static func sign(_ claims: [String: Any], _ key: SigningKey) throws -> String {
        try JWS.sign(payload: JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]), with: key)
    }

    static func claims(of compact: String) throws -> [String: Any] {
        let part = String(compact.split(separator: ".")[1])
        return try JSONSerialization.jsonObject(with: #require(Base64URL.decode(part))) as? [String: Any] ?? [:]
    }

    @Test("a referral is checked (sender, key, signature, audience, age, replays), accepted once, and reported back")
    func roundTrip() async throws {
        try await API.run { api async throws in
            let base = api.test.gateway.configuration.publicURL
            let selfPeer = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Ourselves as a peer", "kind": "hotline", "contact_email": "a@hotline.test", "locale": "en",
                    "jurisdiction": "DE", "routing": ["countries": ["DE"]],
                    "delivery": ["gateway": ["base_url": base, "jwks": try Self.jwks(api.test.gateway.jwks.keys)]],
                ])
            #expect(selfPeer.status == .created, "\(selfPeer.text)")
            let peerID = try #require(selfPeer["id"] as? String)
            // A second hotline may not cover DE as well.
            let clash = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Clash", "kind": "hotline", "contact_email": "a@clash.test", "jurisdiction": "DE",
                    "routing": ["countries": ["de"]],
                ])
            #expect(clash.isProblem(.unprocessableContent))
            #expect(clash.invalidFields == ["routing.countries[0]"])

            // An item nobody hosts, routed to the peer by hand: its notice is the referral.
            let submitted = try await api.submit(["https://nobody.test/a.jpg", "https://nobody.test/b.jpg"])
            let caseID = try #require(submitted["id"] as? String)
            let routed = try await api.call(
                .post, "/v1/cases/\(caseID)/route",
                json: ["urls": ["https://nobody.test/a.jpg", "https://nobody.test/b.jpg"], "partner_id": peerID])
            #expect(routed.status == .created, "\(routed.text)")
            let noticeID = try #require(routed["id"] as? String)
            let compact = try await api.call(.get, "/v1/notices/\(noticeID)", headers: ["Accept": "application/jose"])
                .text
            let claims = try Self.claims(of: compact)
            #expect(claims["type"] as? String == "referral")
            #expect(claims["aud"] as? String == base)
            let deliveries = try await api.test.store.deliveries(DeliveryQuery(notice: NoticeID(rawValue: noticeID)))
            #expect(deliveries.map(\.delivery.channel) == [.referral])
            #expect(deliveries.first?.delivery.endpoint == base + "/v1/referrals")
            #expect(deliveries.first.map { String(decoding: $0.delivery.payload, as: UTF8.self) } == compact)

            // Received once; the same again changes nothing.
            let first = try await api.call(.post, "/v1/referrals", token: nil, raw: compact)
            #expect(first.status == .created, "\(first.text)")
            let referralID = try #require(first["id"] as? String)
            let again = try await api.call(.post, "/v1/referrals", token: nil, raw: compact)
            #expect(again.status == .ok)
            #expect(again["id"] as? String == referralID)

            // Refusals, each recorded.
            var tampered = compact.split(separator: ".").map(String.init)
            var changed = claims
            changed["case_reference"] = "FORGED"
            tampered[1] = Base64URL.encode(try JSONSerialization.data(withJSONObject: changed))
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: tampered.joined(separator: ".")).isProblem(
                    .unauthorized))

            let stranger = SigningKey.generate(at: Date())
            let signedByStranger = try Self.sign(claims, stranger)
            let unknownKey = try await api.call(.post, "/v1/referrals", token: nil, raw: signedByStranger)
            #expect(unknownKey.isProblem(.unauthorized))
            #expect((unknownKey["detail"] as? String)?.contains(stranger.kid) == true)

            // A second peer, with the stranger's key pinned: its messages verify, so audience, age and replays
            // are what is checked.
            let other = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Other peer", "kind": "hotline", "contact_email": "a@other.test", "jurisdiction": "FR",
                    "routing": ["countries": ["FR"]],
                    "delivery": [
                        "gateway": ["base_url": "https://other-peer.test", "jwks": try Self.jwks([stranger.publicJWK])]
                    ],
                ])
            #expect(other.status == .created, "\(other.text)")
            var fromOther = claims
            fromOther["iss"] = "https://other-peer.test"
            fromOther["jti"] = "ntc_00000000000000000000000001"
            var elsewhere = fromOther
            elsewhere["aud"] = "https://another-gateway.test"
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(elsewhere, stranger)).isProblem(
                    .forbidden))
            var stale = fromOther
            stale["iat"] = Int(Date().timeIntervalSince1970) - 31 * 86_400
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(stale, stranger)).isProblem(
                    .conflict))
            var future = fromOther
            future["iat"] = Int(Date().timeIntervalSince1970) + 3_600
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(future, stranger)).isProblem(
                    .conflict))
            let good = try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(fromOther, stranger))
            #expect(good.status == .created, "\(good.text)")
            var replay = fromOther
            replay["case_reference"] = "ANOTHER"
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(replay, stranger)).isProblem(
                    .conflict))
            var unregistered = fromOther
            unregistered["iss"] = "https://nobody-registered.test"
            #expect(
                try await api.call(.post, "/v1/referrals", token: nil, raw: Self.sign(unregistered, stranger))
                    .isProblem(.forbidden))
            for garbage in ["", "a.b.c", String(repeating: "x.", count: 10_000), compact + "." + compact] {
                let reply = try await api.call(.post, "/v1/referrals", token: nil, raw: garbage)
                #expect(reply.status.code >= 400 && reply.status.code < 500, "\(garbage.prefix(20)): \(reply.status)")
            }
            let refused = try await api.call(.get, "/v1/referrals?status=refused&limit=100")
            let reasons = (refused["referrals"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
            #expect(reasons.count == 11, "\(reasons)")
            #expect(reasons.contains { $0.contains("another-gateway.test") })
            #expect(reasons.contains { $0.hasPrefix("replay") })
            #expect((try await api.call(.get, "/v1/referrals?status=received")["referrals"] as? [Any])?.count == 2)

            // Accepted once: a case here, its items never referred on.
            let accepted = try await api.call(.post, "/v1/referrals/\(referralID)/accept")
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect(accepted["state"] as? String == "accepted")
            #expect(try await api.call(.post, "/v1/referrals/\(referralID)/accept").isProblem(.conflict))
            #expect(
                try await api.call(.post, "/v1/referrals/\(referralID)/decline", json: ["reason": "x"]).isProblem(
                    .conflict))
            let localCase = try await api.call(.get, "/v1/cases/\(try #require(accepted["case_id"] as? String))")
            let items = try #require(localCase["items"] as? [[String: Any]])
            #expect(
                items.allSatisfy { $0["notice_id"] == nil && $0["unrouted_reason"] as? String == "no_matching_domain" })
            #expect((localCase["reference"] as? String)?.hasPrefix(peerID) == true)

            // The update goes out signed, and applies once at the sender (here).
            #expect(try await api.test.gateway.referralDesk.reportReferrals() == 1)
            #expect(
                try await api.test.gateway.referralDesk.reportReferrals() == 0, "nothing changed: nothing more to say")
            let updates = try await api.test.store.deliveries(DeliveryQuery(partner: PartnerID(rawValue: peerID)))
                .map(\.delivery).filter { $0.endpoint.hasSuffix("/v1/referral-updates") }
            let update = try #require(updates.first)
            #expect(updates.count == 1)
            #expect(update.noticeId.rawValue == noticeID)
            let updateJWS = String(decoding: update.payload, as: UTF8.self)
            #expect(try Self.claims(of: updateJWS)["status"] as? String == "accepted")
            let applied = try await api.call(.post, "/v1/referral-updates", token: nil, raw: updateJWS)
            #expect(applied.status == .ok, "\(applied.text)")
            #expect(applied["remote_status"] as? String == "accepted")
            _ = try await api.call(.post, "/v1/referral-updates", token: nil, raw: updateJWS)
            let out = try await api.call(.get, "/v1/referrals?direction=out")
            let sent = try #require((out["referrals"] as? [[String: Any]])?.first)
            #expect(sent["status"] as? String == "acknowledged")
            #expect(sent["remote_status"] as? String == "accepted")
            #expect((sent["updates"] as? [Any])?.count == 1)
            // Two more referrals, not yet answered: a status filter pages over the matching ones only.
            var later: [String] = []
            for path in ["c.jpg", "d.jpg"] {
                let more = try await api.submit(["https://nobody.test/\(path)"])
                let moreRouted = try await api.call(
                    .post, "/v1/cases/\(try #require(more["id"] as? String))/route",
                    json: ["url": "https://nobody.test/\(path)", "partner_id": peerID])
                later.append(try #require(moreRouted["id"] as? String))
            }
            var pages: [[String]] = []
            var cursor = ""
            repeat {
                let page = try await api.call(
                    .get,
                    "/v1/referrals?direction=out&status=issued&limit=1" + (cursor.isEmpty ? "" : "&after=\(cursor)"))
                pages.append((page["referrals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
                cursor = page["next_cursor"] as? String ?? ""
            } while pages.last?.isEmpty == false && pages.count < 5
            #expect(pages == [[later[0]], [later[1]], []])
            let answered = try await api.call(.get, "/v1/referrals?direction=out&status=acknowledged&limit=1")
            #expect((answered["referrals"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [noticeID])
            #expect(try await api.call(.get, "/v1/referrals?direction=out&status=nonsense").isProblem(.badRequest))
            // An update about a notice of another partner is not found; a partner's token cannot list.
            var foreign = try Self.claims(of: updateJWS)
            foreign["iss"] = "https://other-peer.test"
            #expect(
                try await api.call(.post, "/v1/referral-updates", token: nil, raw: Self.sign(foreign, stranger))
                    .isProblem(.notFound))
            let provider = try await api.partner("Host", domains: ["host.test"])
            #expect(try await api.call(.get, "/v1/referrals", token: provider.token).isProblem(.forbidden))

            // Declined with a reason: the next round tells the sender, and then nothing more.
            let otherID = try #require(good["id"] as? String)
            #expect(try await api.call(.post, "/v1/referrals/\(otherID)/decline", json: [:]).isProblem(.badRequest))
            let declined = try await api.call(
                .post, "/v1/referrals/\(otherID)/decline", json: ["reason": "not hosted here"])
            #expect(declined["state"] as? String == "declined")
            #expect(try await api.test.gateway.referralDesk.reportReferrals() == 1)
            #expect(try await api.test.store.referralsToReport(after: 0, limit: 10).map(\.id.rawValue) == [referralID])
        }
    }
}
