import Foundation
import HTTPTypes
import TakedownTestSupport
import Testing

@Suite("API: cases")
struct CaseAPITests {
    @Test("items route to the longest domain, else the IP range; the rest are reported back")
    func routing() async throws {
        try await API.run { api async throws in
            let broad = try await api.partner("Broad", domains: ["example.com"])
            let cdn = try await api.partner("CDN", domains: ["cdn.example.com"], ranges: ["198.51.100.0/24"])
            let reply = try await api.call(
                .post, "/v1/cases",
                json: API.caseBody([
                    API.item("https://www.example.com/a"), API.item("https://img.cdn.example.com/b"),
                    API.item("https://example.com/c"), API.item("https://elsewhere.test/d", ip: "198.51.100.9"),
                    API.item("https://nowhere.test/e"), API.item("https://nowhere.test/f", ip: "203.0.113.5"),
                ]))
            #expect(reply.status == .created, "\(reply.text)")
            let caseID = try #require(reply["id"] as? String)
            #expect(caseID.hasPrefix("case_"))
            let notices = try #require(reply["notices"] as? [[String: Any]])
            #expect(notices.count == 2)
            #expect(notices[0]["partner_id"] as? String == broad.id)
            #expect(notices[0]["items"] as? [String] == ["https://www.example.com/a", "https://example.com/c"])
            #expect(notices[1]["partner_id"] as? String == cdn.id)
            #expect(notices[1]["items"] as? [String] == ["https://img.cdn.example.com/b", "https://elsewhere.test/d"])
            #expect((notices[0]["id"] as? String)?.hasPrefix("ntc_") == true)
            let unrouted = try #require(reply["unrouted"] as? [[String: String]])
            #expect(
                unrouted == [
                    ["url": "https://nowhere.test/e", "reason": "no_matching_domain"],
                    ["url": "https://nowhere.test/f", "reason": "no_matching_partner"],
                ])

            let shown = try await api.call(.get, "/v1/cases/\(caseID)")
            #expect(shown["notes"] as? String == "internal only")
            let items = try #require(shown["items"] as? [[String: Any]])
            #expect(items.count == 6)
            #expect(items[0]["notice_id"] as? String == notices[0]["id"] as? String)
            #expect(items[4]["unrouted_reason"] as? String == "no_matching_domain")
            let hashes = try #require(items[0]["hashes"] as? [String: Any])
            #expect((hashes["sha256"] as? String).map { $0 == $0.lowercased() } == true)
        }
    }

    @Test("unrouted items are routed later to a named provider, once")
    func routeLater() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner("Late", domains: ["late.test"])
            let reply = try await api.submit(["https://nowhere.test/1", "https://nowhere.test/2"])
            let caseID = try #require(reply["id"] as? String)
            let routed = try await api.call(
                .post, "/v1/cases/\(caseID)/route", json: ["url": "https://nowhere.test/1", "partner_id": partner.id])
            #expect(routed.status == .created, "\(routed.text)")
            #expect(routed["partner_id"] as? String == partner.id)
            let again = try await api.call(
                .post, "/v1/cases/\(caseID)/route", json: ["url": "https://nowhere.test/1", "partner_id": partner.id])
            #expect(again.isProblem(.unprocessableContent))
            let unknown = try await api.call(
                .post, "/v1/cases/\(caseID)/route",
                json: ["url": "https://other.test/", "partner_id": "ptn_0000000000000000000000000a"])
            #expect(unknown.invalidFields == ["partner_id", "url"])
            let police = try await api.partner("Police", domains: ["police.test"], kind: "law_enforcement")
            let toPolice = try await api.call(
                .post, "/v1/cases/\(caseID)/route", json: ["url": "https://nowhere.test/2", "partner_id": police.id])
            #expect(toPolice.invalidFields == ["partner_id"])
            let polled = try await api.call(.get, "/v1/notices", token: partner.token)
            #expect((polled["notices"] as? [[String: Any]])?.count == 1)
            let stillOpen = try await api.call(.get, "/v1/cases?unrouted=true")
            #expect((stillOpen["cases"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test("each invalid field is named, wrong types and bad JSON are 400, and nothing is stored")
    func validation() async throws {
        try await API.run { api async throws in
            _ = try await api.partner()
            var item = API.item("ftp://example.com/a")
            item["hashes"] = ["md5": "abc", "pdq": Synthetic.hex(64), "pdq_quality": 120, "photodna": "%%%"]
            let invalid = try await api.call(
                .post, "/v1/cases",
                json: ["reference": "", "category": ["uk_grade": "Z"], "media_type": "audio", "items": [item]])
            #expect(invalid.isProblem(.unprocessableContent))
            #expect(
                invalid.invalidFields == [
                    "reference", "category.uk_grade", "media_type", "items[0].url", "items[0].hashes.md5",
                    "items[0].hashes.pdq_quality", "items[0].hashes.photodna",
                ])
            let wrongType = try await api.call(.post, "/v1/cases", json: ["reference": 12])
            #expect(wrongType.isProblem(.badRequest))
            #expect(wrongType.invalidFields == ["reference"])
            let badDate = try await api.call(
                .post, "/v1/cases",
                json: API.caseBody([
                    ["url": "https://example.com/x", "observed_at": "yesterday", "hashes": ["md5": Synthetic.hex(32)]]
                ]))
            #expect(badDate.isProblem(.badRequest))
            #expect(badDate.invalidFields == ["items[0].observed_at"])
            #expect(try await api.call(.post, "/v1/cases", raw: "{\"reference\": ").isProblem(.badRequest))
            #expect(try await api.call(.post, "/v1/cases", raw: "[1,2]").isProblem(.badRequest))
            #expect(try await api.call(.post, "/v1/cases", raw: "").isProblem(.badRequest))
            let notJSON = try await api.call(.post, "/v1/cases", headers: ["Content-Type": "text/plain"])
            #expect(notJSON.status.code >= 400 && notJSON.status.code < 500)
            #expect(try await api.call(.post, "/v1/cases", json: API.caseBody([])).invalidFields == ["items"])

            var fullWidth = API.item("https://example.com/fw")
            fullWidth["hashes"] = ["md5": String(repeating: "ａ", count: 32)]
            #expect(
                try await api.call(.post, "/v1/cases", json: API.caseBody([fullWidth])).invalidFields == [
                    "items[0].hashes.md5"
                ])

            #expect((try await api.call(.get, "/v1/cases")["cases"] as? [Any])?.isEmpty == true)
            #expect((try await api.call(.get, "/v1/notices")["notices"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("internationalised URLs are stored and routed in their URI form")
    func internationalised() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner("Bücher", domains: ["bücher.test"])
            let created = try await api.call(.get, "/v1/partners/\(partner.id)")
            #expect((created["routing"] as? [String: Any])?["domains"] as? [String] == ["xn--bcher-kva.test"])
            let reply = try await api.submit(["https://bücher.test/bild-ü.jpg"])
            let notices = try #require(reply["notices"] as? [[String: Any]])
            #expect(notices.first?["items"] as? [String] == ["https://xn--bcher-kva.test/bild-%C3%BC.jpg"])
        }
    }

    @Test("bodies over the configured limit get 413")
    func tooLarge() async throws {
        try await API.run(configure: { $0.maxBodyBytes = 2048 }) { api async throws in
            _ = try await api.partner()
            let urls = (0..<40).map { "https://example.com/\($0)" }
            let reply = try await api.submit(urls)
            #expect(reply.isProblem(.contentTooLarge))
            #expect((try await api.call(.get, "/v1/cases")["cases"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("an Idempotency-Key returns the first answer and issues nothing twice")
    func idempotency() async throws {
        try await API.run { api async throws in
            let partner = try await api.partner()
            let body = API.caseBody([API.item("https://example.com/once")], reference: "HL-IDEM")
            let first = try await api.call(.post, "/v1/cases", json: body, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == .created)
            let second = try await api.call(.post, "/v1/cases", json: body, headers: ["Idempotency-Key": "k-1"])
            #expect(second.status == .created)
            #expect(second["id"] as? String == first["id"] as? String)
            #expect(API.firstNotice(second) == API.firstNotice(first))
            var changed = body
            changed["reference"] = "HL-OTHER"
            let reused = try await api.call(.post, "/v1/cases", json: changed, headers: ["Idempotency-Key": "k-1"])
            #expect(reused.isProblem(.unprocessableContent))
            let fresh = try await api.call(.post, "/v1/cases", json: body, headers: ["Idempotency-Key": "k-2"])
            #expect(fresh["id"] as? String != first["id"] as? String)

            let notices = try await api.call(.get, "/v1/notices", token: partner.token)
            #expect((notices["notices"] as? [Any])?.count == 2)
            let cases = try await api.call(.get, "/v1/cases?reference=HL-IDEM")
            #expect((cases["cases"] as? [Any])?.count == 2)
        }
    }

    @Test("cases page with a cursor and filter by reference and time")
    func listing() async throws {
        try await API.run { api async throws in
            _ = try await api.partner()
            var ids: [String] = []
            for index in 0..<5 {
                let reply = try await api.call(
                    .post, "/v1/cases",
                    json: API.caseBody([API.item("https://example.com/\(index)")], reference: "REF-\(index)"))
                ids.append(reply["id"] as? String ?? "")
            }
            let page1 = try await api.call(.get, "/v1/cases?limit=2")
            #expect((page1["cases"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[0..<2]))
            let cursor = try #require(page1["next_cursor"] as? String)
            let page2 = try await api.call(.get, "/v1/cases?limit=10&after=\(cursor)")
            #expect((page2["cases"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids[2...]))
            let byReference = try await api.call(.get, "/v1/cases?reference=REF-3")
            #expect((byReference["cases"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[3]])
            let future = try await api.call(.get, "/v1/cases?created_from=2099-01-01T00:00:00Z")
            #expect((future["cases"] as? [Any])?.isEmpty == true)
            #expect(try await api.call(.get, "/v1/cases?after=garbage").invalidFields == ["after"])
            #expect(try await api.call(.get, "/v1/cases?limit=0").invalidFields == ["limit"])
            #expect(try await api.call(.get, "/v1/cases?created_to=soon").invalidFields == ["created_to"])
            #expect(try await api.call(.get, "/v1/cases?unrouted=maybe").invalidFields == ["unrouted"])
            #expect(try await api.call(.get, "/v1/cases/case_0000000000000000000000000a").isProblem(.notFound))
        }
    }
}
