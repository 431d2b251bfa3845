import Foundation
import TakedownModel
import TakedownService
import TakedownStore
import TakedownTestSupport
import Testing

@Suite("Police holds")
struct PoliceHoldTests {
    /// A provider with a webhook (so a sent notice leaves a delivery) and two police partners.
    static func rig(_ api: API) async throws -> (
        provider: API.CreatedPartner, police: API.CreatedPartner, other: API.CreatedPartner
    ) {
        let created = try await api.call(
            .post, "/v1/partners",
            json: [
                "name": "Held Hosting", "kind": "hosting_provider", "contact_email": "abuse@held.test",
                "locale": "en", "jurisdiction": "GB", "routing": ["domains": ["held.test"]],
                "delivery": ["webhook_url": "https://hooks.held.test/in"],
            ])
        let provider = API.CreatedPartner(id: created["id"] as? String ?? "", token: created["token"] as? String ?? "")
        let police = try await api.partner("Police Unit", domains: [], kind: "law_enforcement")
        let other = try await api.partner("Other Force", domains: [], kind: "law_enforcement")
        return (provider, police, other)
    }

    static func heldCase(_ api: API, _ urls: [String], hold: [String: Any]) async throws -> Reply {
        var body = API.caseBody(urls.map { API.item($0) })
        body["police_hold"] = hold
        return try await api.call(.post, "/v1/cases", json: body)
    }

    @Test("a held notice is invisible to its provider (listings, counts, webhooks) until the police release it")
    func heldUntilReleased() async throws {
        try await API.run { api in
            let (provider, police, other) = try await Self.rig(api)
            let urls = ["https://held.test/a.jpg", "https://held.test/b.jpg", "https://nobody.test/c.jpg"]
            let receipt = try await Self.heldCase(
                api, urls, hold: ["partner_id": police.id, "reason": "covert investigation"])
            #expect(receipt.status == .created, "\(receipt.text)")
            #expect((receipt["notices"] as? [Any])?.isEmpty == true)
            #expect((receipt["unrouted"] as? [[String: Any]])?.map { $0["url"] as? String } == [urls[2]])
            let held = try #require(receipt["hold"] as? [String: Any])
            let holdID = try #require(held["id"] as? String)
            let planned = try #require(held["planned"] as? [[String: Any]])
            #expect(planned.count == 1 && planned[0]["partner_id"] as? String == provider.id)
            #expect(planned[0]["urls"] as? [String] == Array(urls.prefix(2)))

            // The provider sees nothing: no notice, no count, no delivery; not the hold either.
            #expect(
                (try await api.call(.get, "/v1/notices", token: provider.token)["notices"] as? [Any])?.isEmpty == true)
            #expect((try await api.call(.get, "/v1/notices")["notices"] as? [Any])?.isEmpty == true)
            let card = try await api.call(.get, "/v1/partners/\(provider.id)/scorecard", token: provider.token)
            #expect((card["overall"] as? [String: Any])?["notices"] as? Int == 0)
            let counts = try await api.test.gateway.noticeDesk.noticeCounts(
                issuedSince: [api.test.clock.now.addingTimeInterval(-86_400)],
                for: .partner(.generate(), PartnerID(rawValue: provider.id)))
            #expect(counts == NoticeCounts(open: 0, overdue: 0, issuedSince: [0]))
            #expect(
                try await api.test.store.deliveries(DeliveryQuery(partner: PartnerID(rawValue: provider.id))).isEmpty)
            #expect(try await api.call(.get, "/v1/holds", token: provider.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/holds/\(holdID)", token: provider.token).isProblem(.notFound))
            #expect(
                try await api.call(.post, "/v1/holds/\(holdID)/release", token: provider.token).isProblem(.notFound))
            // Another force neither sees nor releases it; staff cannot route around it.
            #expect(try await api.call(.get, "/v1/holds/\(holdID)", token: other.token).isProblem(.notFound))
            #expect(try await api.call(.post, "/v1/holds/\(holdID)/release", token: other.token).isProblem(.notFound))
            #expect((try await api.call(.get, "/v1/holds", token: other.token)["holds"] as? [Any])?.isEmpty == true)
            let caseID = try #require(receipt["id"] as? String)
            let routed = try await api.call(
                .post, "/v1/cases/\(caseID)/route", json: ["url": urls[0], "partner_id": provider.id])
            #expect(routed.isProblem(.conflict), "\(routed.text)")
            let unroutedCases = try await api.call(.get, "/v1/cases?unrouted=true")
            #expect((unroutedCases["cases"] as? [Any])?.isEmpty == true, "\(unroutedCases.text)")

            // Staff see it on the case's console page: the URLs held for their provider, none to route by hand.
            let browser = ConsoleBrowser(api)
            try await browser.signIn(API.admin)
            let page = try await browser.get("/console/cases/\(caseID)")
            #expect(page.text.contains(holdID) && page.text.contains("covert investigation"), "\(page.text)")
            #expect(page.text.contains("status-held") && !page.text.contains("route-heading"))

            // The police see their hold, and release it two hours later: the notice is issued then.
            let mine = try await api.call(.get, "/v1/holds", token: police.token)
            #expect((mine["holds"] as? [[String: Any]])?.map { $0["id"] as? String } == [holdID])
            api.test.clock.advance(by: 7_200)
            let released = try await api.call(.post, "/v1/holds/\(holdID)/release", token: police.token)
            #expect(released.status == .ok && released["status"] as? String == "released", "\(released.text)")
            #expect(released["seconds_held"] as? Double == 7_200)
            #expect(released["released_by"] as? String == "partner:\(police.id)")
            let noticeID = try #require((released["notice_ids"] as? [String])?.first)
            let notice = try await api.call(.get, "/v1/notices/\(noticeID)", token: provider.token)
            #expect(notice.status == .ok)
            #expect(notice["issued_at"] as? String == Timestamp.format(api.test.clock.now))
            let deliveries = try await api.test.store.deliveries(
                DeliveryQuery(partner: PartnerID(rawValue: provider.id)))
            #expect(deliveries.map(\.delivery.eventType) == ["notice.issued"])
            let stored = try #require(try await api.test.store.caseRecord(CaseID(rawValue: caseID)))
            #expect(stored.items.prefix(2).allSatisfy { $0.noticeId?.rawValue == noticeID })

            // Once only; a released hold is not delayed.
            #expect(try await api.call(.post, "/v1/holds/\(holdID)/release").isProblem(.conflict))
            let late = try await api.call(
                .post, "/v1/holds/\(holdID)/delay", token: police.token,
                json: ["until": Timestamp.format(api.test.clock.now.addingTimeInterval(3_600))])
            #expect(late.isProblem(.conflict))

            let report = try await api.call(.get, "/v1/stats/holds")
            let figures = try #require((report["partners"] as? [[String: Any]])?.first)
            #expect(figures["partner_id"] as? String == police.id && figures["holds"] as? Int == 1)
            #expect(figures["released"] as? Int == 1 && figures["median_seconds_to_release"] as? Double == 7_200)
            #expect(try await api.call(.get, "/v1/stats/holds", token: police.token).isProblem(.forbidden))
        }
    }

    @Test("the police delay a hold; a hold past its end is escalated to staff once per end")
    func delayAndEscalate() async throws {
        try await API.run { api in
            let (_, police, _) = try await Self.rig(api)
            let now = api.test.clock.now
            let receipt = try await Self.heldCase(
                api, ["https://held.test/x.jpg"],
                hold: ["partner_id": police.id, "until": Timestamp.format(now.addingTimeInterval(3_600))])
            let holdID = try #require((receipt["hold"] as? [String: Any])?["id"] as? String)

            for (body, field) in [
                (["until": Timestamp.format(now.addingTimeInterval(-60))], "until"),
                (["reason": "later"], "until"),
                (["until": Timestamp.format(now.addingTimeInterval(200 * 86_400))], "until"),
                (["until": Timestamp.format(now.addingTimeInterval(7_200)), "reason": "  "], "reason"),
            ] {
                let refused = try await api.call(.post, "/v1/holds/\(holdID)/delay", token: police.token, json: body)
                #expect(refused.isProblem(.unprocessableContent) && refused.invalidFields == [field], "\(refused.text)")
            }
            let ten = now.addingTimeInterval(10 * 3_600)
            let delayed = try await api.call(
                .post, "/v1/holds/\(holdID)/delay", token: police.token,
                json: ["until": Timestamp.format(ten), "reason": "suspect not yet arrested"])
            #expect(delayed["ends_at"] as? String == Timestamp.format(ten))
            #expect(delayed["delay_reason"] as? String == "suspect not yet arrested")

            api.test.clock.advance(by: 9 * 3_600)
            #expect(try await api.test.gateway.holdDesk.escalateOverdueHolds() == 0)
            api.test.clock.advance(by: 2 * 3_600)
            #expect(try await api.test.gateway.holdDesk.escalateOverdueHolds() == 1)
            #expect(try await api.test.gateway.holdDesk.escalateOverdueHolds() == 0)
            let shown = try await api.call(.get, "/v1/holds/\(holdID)")
            #expect(shown["overdue"] as? Bool == true && shown["escalated_at"] as? String != nil)
            let report = try await api.call(.get, "/v1/stats/holds")
            let figures = try #require((report["partners"] as? [[String: Any]])?.first)
            #expect(figures["open"] as? Int == 1 && figures["overdue"] as? Int == 1)
            #expect(figures["median_seconds_to_release"] is NSNull || figures["median_seconds_to_release"] == nil)
            // Escalated to staff: the console's dashboard lists it, overdue.
            let browser = ConsoleBrowser(api)
            try await browser.signIn(API.admin)
            let dashboard = try await browser.get("/console/dashboard")
            #expect(dashboard.text.contains(holdID) && dashboard.text.contains("status-overdue"), "\(dashboard.text)")

            // Staff delay it on the police's behalf: a new end, escalated again only past it.
            let later = api.test.clock.now.addingTimeInterval(3_600)
            let again = try await api.call(
                .post, "/v1/holds/\(holdID)/delay", json: ["until": Timestamp.format(later)])
            #expect(again["escalated_at"] is NSNull && again["overdue"] as? Bool == false)
            api.test.clock.advance(by: 3_601)
            #expect(try await api.test.gateway.holdDesk.escalateOverdueHolds() == 1)
        }
    }

    @Test("a hold names an existing law-enforcement partner and a future end; a refused case stores nothing")
    func holdValidation() async throws {
        try await API.run { api in
            let (provider, police, _) = try await Self.rig(api)
            let now = api.test.clock.now
            for (hold, field) in [
                (["partner_id": provider.id], "police_hold.partner_id"),
                (["partner_id": "ptn_nope!"], "police_hold.partner_id"),
                (["reason": "no partner"], "police_hold.partner_id"),
                (
                    ["partner_id": police.id, "until": Timestamp.format(now.addingTimeInterval(-1))],
                    "police_hold.until"
                ),
                (
                    ["partner_id": police.id, "until": Timestamp.format(now.addingTimeInterval(181 * 86_400))],
                    "police_hold.until"
                ),
            ] as [([String: Any], String)] {
                let refused = try await Self.heldCase(api, ["https://held.test/v.jpg"], hold: hold)
                #expect(refused.isProblem(.unprocessableContent) && refused.invalidFields == [field], "\(refused.text)")
            }
            #expect((try await api.call(.get, "/v1/cases")["cases"] as? [Any])?.isEmpty == true)
            #expect((try await api.call(.get, "/v1/holds")["holds"] as? [Any])?.isEmpty == true)
            #expect(try await api.call(.get, "/v1/holds?status=sideways").isProblem(.badRequest))
            #expect(try await api.call(.get, "/v1/holds/hold_zzz").isProblem(.notFound))
            #expect(try await api.call(.get, "/v1/holds/ntc_x").isProblem(.notFound))

            // A repeated idempotency key gives the first receipt back and holds nothing twice.
            var body = API.caseBody([API.item("https://held.test/i.jpg")])
            body["police_hold"] = ["partner_id": police.id]
            let first = try await api.call(.post, "/v1/cases", json: body, headers: ["Idempotency-Key": "hold-1"])
            let second = try await api.call(.post, "/v1/cases", json: body, headers: ["Idempotency-Key": "hold-1"])
            #expect(first.status == .created && second.status == .created)
            #expect(
                (first["hold"] as? [String: Any])?["id"] as? String == (second["hold"] as? [String: Any])?["id"]
                    as? String)
            #expect((try await api.call(.get, "/v1/holds?status=held")["holds"] as? [Any])?.count == 1)
        }
    }
}
