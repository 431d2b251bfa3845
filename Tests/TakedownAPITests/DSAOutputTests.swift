import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("DSA outputs")
struct DSAOutputTests {
    @Test("a statement-of-reasons draft cites the notice, names no URL, and follows what the provider reported")
    func statementOfReasons() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let other = try await api.partner("Other Hosting", domains: ["other.test"])
            let urls = ["https://example.com/sor/1.jpg", "https://example.com/sor/2.jpg"]
            let notice = API.firstNotice(try await api.submit(urls))
            let path = "/v1/notices/\(notice)/statement-of-reasons"

            let draft = try await api.call(.get, path, token: provider.token)
            #expect(draft.status == .ok, "\(draft.text)")
            #expect(draft["puid"] as? String == notice)
            #expect((draft["source_identity"] as? String)?.hasSuffix("notice \(notice)") == true)
            #expect((draft["decision_facts"] as? String)?.contains(notice) == true)
            #expect(draft["source_type"] as? String == "SOURCE_ARTICLE_16")
            #expect(draft["decision_ground"] as? String == "DECISION_GROUND_ILLEGAL_CONTENT")
            #expect(draft["category"] as? String == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS")
            #expect(draft["category_specification"] as? [String] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"])
            #expect(draft["content_type"] as? [String] == ["CONTENT_TYPE_IMAGE"])
            #expect(draft["decision_visibility"] as? [String] == ["DECISION_VISIBILITY_CONTENT_REMOVED"])
            #expect((draft["illegal_content_legal_ground"] as? String)?.isEmpty == false)
            #expect(draft["content_date"] as? String == "2026-11-29")
            #expect(draft["application_date"] as? String == String(Timestamp.format(api.test.clock.now).prefix(10)))
            #expect((draft["territorial_scope"] as? [String])?.count == 30)
            // References only: no URL, host or hash of the notice.
            #expect(!draft.text.contains("example.com") && !draft.text.contains("sor/"))

            // Another provider does not get it; staff do.
            #expect(try await api.call(.get, path, token: other.token).isProblem(.notFound))
            #expect(try await api.call(.get, path).status == .ok)
            #expect(try await api.call(.get, path, token: nil).isProblem(.unauthorized))

            // Both URLs disabled two days later: the measure and the date follow.
            api.test.clock.advance(by: 2 * 86_400)
            let removed = try await api.call(
                .post, "/v1/notices/\(notice)/removal", token: provider.token, json: ["action": "disabled"])
            #expect(removed.status == .ok, "\(removed.text)")
            let after = try await api.call(.get, path, token: provider.token)
            #expect(after["decision_visibility"] as? [String] == ["DECISION_VISIBILITY_CONTENT_DISABLED"])
            #expect(after["application_date"] as? String == String(Timestamp.format(api.test.clock.now).prefix(10)))
            #expect((after["decision_facts"] as? String)?.contains("2 reported removed") == true)
        }
    }

    @Test("the Art. 22 report counts notices by provider and country, with the action taken and the times")
    func article22Report() async throws {
        try await API.run { api in
            let gb = try await api.partner("=HYPERLINK Hosting", domains: ["gb.test"])
            let created = try await api.call(
                .post, "/v1/partners",
                json: [
                    "name": "Deutsche Hosting", "kind": "hosting_provider", "contact_email": "abuse@de.test",
                    "locale": "de", "jurisdiction": "DE", "routing": ["domains": ["de.test"]],
                ])
            let deToken = try #require(created["token"] as? String)
            let deID = try #require(created["id"] as? String)
            let start = api.test.clock.now
            let first = API.firstNotice(try await api.submit(["https://gb.test/1.jpg"]))
            let second = API.firstNotice(try await api.submit(["https://gb.test/2.jpg"]))
            let third = API.firstNotice(try await api.submit(["https://de.test/3.jpg"]))
            try await api.call(.post, "/v1/notices/\(first)/acknowledge", token: gb.token)
            api.test.clock.advance(by: 3_600)
            try await api.call(.post, "/v1/notices/\(first)/removal", token: gb.token, json: ["action": "removed"])
            try await api.call(.post, "/v1/notices/\(second)/withdraw", json: ["reason": "mistaken"])
            try await api.call(.post, "/v1/notices/\(third)/dispute", token: deToken, json: ["reason": "not ours"])

            let window =
                "from=\(Timestamp.format(start.addingTimeInterval(-60)))&to=\(Timestamp.format(start.addingTimeInterval(86_400)))"
            let report = try await api.call(.get, "/v1/reports/trusted-flagger?\(window)")
            #expect(report.status == .ok, "\(report.text)")
            #expect(report["report"] as? String == "dsa-article-22")
            let total = try #require(report["total"] as? [String: Any])
            #expect(total["notices"] as? Int == 3)
            let actions = try #require(total["actions"] as? [String: Int])
            #expect(actions["removed"] == 1 && actions["withdrawn"] == 1 && actions["disputed"] == 1)
            #expect(actions["pending"] == 0 && actions["unable"] == 0 && actions["expired"] == 0)
            #expect(total["median_seconds_to_removal"] as? Double == 3_600)
            #expect(total["removed_within_24h_share"] as? Double == 0.5)  // one of the two not withdrawn
            let providers = try #require(report["by_provider"] as? [[String: Any]])
            let byKey = Dictionary(uniqueKeysWithValues: providers.map { ($0["key"] as? String ?? "", $0) })
            #expect(byKey[gb.id]?["notices"] as? Int == 2 && byKey[gb.id]?["country"] as? String == "GB")
            #expect(byKey[deID]?["notices"] as? Int == 1 && byKey[deID]?["name"] as? String == "Deutsche Hosting")
            #expect(byKey[deID]?["median_seconds_to_removal"] is NSNull)
            let countries = try #require(report["by_country"] as? [[String: Any]])
            #expect(countries.map { $0["key"] as? String } == ["DE", "GB"])
            #expect(countries.map { $0["notices"] as? Int } == [1, 2])
            #expect(!report.text.contains("gb.test/") && !report.text.contains("de.test/"))

            let csv = try await api.call(.get, "/v1/reports/trusted-flagger?\(window)&format=csv")
            #expect(csv.contentType == "text/csv; charset=utf-8")
            let lines = csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 6 && lines[0].hasPrefix("scope,key,name,country,notices,removed,"))
            #expect(lines[1].hasPrefix("total,all,All notices,,3,1,0,0,1,1,0,0,"))
            #expect(lines.contains { $0.hasPrefix("provider,\(gb.id),'=HYPERLINK Hosting,GB,2,1,") })
            #expect(lines.contains { $0.hasPrefix("country,DE,DE,DE,1,0,0,0,1,0,0,0,") })

            // By default the last calendar year: none of this year's notices.
            let lastYear = try await api.call(.get, "/v1/reports/trusted-flagger")
            #expect((lastYear["total"] as? [String: Any])?["notices"] as? Int == 0)
            #expect((lastYear["from"] as? String)?.hasSuffix("-01-01T00:00:00.000Z") == true)
            #expect(try await api.call(.get, "/v1/reports/trusted-flagger?format=xml").isProblem(.badRequest))
            #expect(
                try await api.call(
                    .get, "/v1/reports/trusted-flagger?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"
                ).isProblem(.badRequest))
            #expect(try await api.call(.get, "/v1/reports/trusted-flagger", token: gb.token).isProblem(.forbidden))
        }
    }
}
