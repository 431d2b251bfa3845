import Foundation
import HTTPTypes
import TakedownAPI
import TakedownModel
import TakedownServer
import TakedownTestSupport
import Testing

/// Hostile headers, rate limits, heavy responses and the audit trail, through the real router.
@Suite("API: hardening")
struct HardeningAPITests {
    @Test(
        "an Accept header of any shape gets an answer, never a crash",
        arguments: [
            ";", "text/html,;", ",,,", ";;,;", "application/json;q=x", "*/*;q=0", "text/plain;q=0.5,application/jose",
        ])
    func acceptShapes(accept: String) async throws {
        try await API.run { api in
            let partner = try await api.partner(domains: ["accept.test"])
            let notice = API.firstNotice(try await api.submit(["https://accept.test/a"]))
            let reply = try await api.call(
                .get, "/v1/notices/\(notice)", token: partner.token, headers: ["Accept": accept])
            #expect(reply.status == .ok || reply.status == .notAcceptable, "\(accept): \(reply.status)")
            if accept == "text/plain;q=0.5,application/jose" { #expect(reply.contentType == "application/jose") }
            if accept == "*/*;q=0" { #expect(reply.status == .notAcceptable) }
            #expect(try await api.call(.get, "/v1/notices/\(notice)", token: partner.token).status == .ok)
        }
    }

    @Test("a caller over its rate gets 429 with Retry-After and RateLimit headers; others are not slowed")
    func rateLimits() async throws {
        try await API.run(configure: { $0.rateLimits = RateLimits(parsing: "partner=0.5/3,anonymous=0.5/2")! }) { api in
            let first = try await api.partner(domains: ["one.test"])
            let second = try await api.partner(domains: ["two.test"])
            var statuses: [HTTPResponse.Status] = []
            var last: Reply?
            for _ in 0..<5 {
                let reply = try await api.call(.get, "/v1/notices", token: first.token)
                statuses.append(reply.status)
                last = reply
            }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests, .tooManyRequests])
            let refused = try #require(last)
            #expect(refused.isProblem(.tooManyRequests))
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(refused.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
            #expect(refused.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(Int(refused.headers[HTTPField.Name("RateLimit-Reset")!] ?? "") ?? 0 >= 1)
            // Another partner has its own bucket; staff are not limited by the partners' rate.
            #expect(try await api.call(.get, "/v1/notices", token: second.token).status == .ok)
            #expect(try await api.call(.get, "/v1/notices").status == .ok)
            // Anonymous callers share their address's bucket, bad tokens included; health checks are exempt.
            var anonymous: [HTTPResponse.Status] = []
            for _ in 0..<3 { anonymous.append(try await api.call(.get, "/v1/notices", token: "tdk_guess").status) }
            #expect(anonymous == [.unauthorized, .unauthorized, .tooManyRequests])
            #expect(try await api.call(.get, "/healthz", token: nil).status == .ok)
        }
    }

    @Test("rate-limit settings parse, and refuse what they cannot mean")
    func rateLimitSettings() throws {
        let parsed = try #require(RateLimits(parsing: "partner=2.5/10, admin=off"))
        #expect(parsed.partner == RateLimit(perSecond: 2.5, burst: 10))
        #expect(parsed.admin == nil)
        #expect(parsed.analyst == RateLimits().analyst)
        #expect(RateLimits(parsing: "off") == .off)
        for bad in ["partner=inf/10", "partner=1/0", "partner=-1/5", "robot=1/1", "partner=1", "partner=nan/1"] {
            #expect(RateLimits(parsing: bad) == nil, "\(bad)")
        }
        #expect(throws: SettingsError.self) { try ServerSettings(environment: ["TAKEDOWN_RATE_LIMITS": "x"]) }
        for name in ["WEBHOOK_TIMEOUT_SECONDS", "VERIFY_TIMEOUT_SECONDS", "LADDER_INTERVAL_SECONDS", "IDLE_TIMEOUT"] {
            for value in ["inf", "nan", "1e300", "-1"] {
                #expect(throws: SettingsError.self, "\(name)=\(value)") {
                    try ServerSettings(environment: ["TAKEDOWN_\(name)": value])
                }
            }
        }
        for bad in ["10.0.0.0/33", "localhost", "10.0.0.0/8,", "::1/129"] {
            #expect(throws: SettingsError.self, "\(bad)") {
                try ServerSettings(environment: ["TAKEDOWN_ALLOWED_TARGETS": bad])
            }
        }
        let allowed = try ServerSettings(environment: ["TAKEDOWN_ALLOWED_TARGETS": "127.0.0.1/32, fd00::/8"])
        #expect(allowed.outbox.allowedTargets == [IPRange("127.0.0.1/32")!, IPRange("fd00::/8")!])
        #expect(allowed.verification.allowedTargets == allowed.outbox.allowedTargets)
        #expect(!allowed.outbox.allowPrivateTargets)
        #expect(throws: SettingsError.self) { try ServerSettings(environment: ["TAKEDOWN_METRICS_TOKEN": "short"]) }
        #expect(throws: SettingsError.self) { try ServerSettings(environment: ["TAKEDOWN_METRICS_ADDR": "nohost"]) }
        let settings = try ServerSettings(environment: ["TAKEDOWN_METRICS_ADDR": "[::1]:9464"])
        #expect(settings.metricsAddress?.host == "::1" && settings.metricsAddress?.port == 9464)
    }

    @Test("heavy responses are capped per caller and in all, and slots come back")
    func heavyLimiter() {
        let limiter = HeavyRequestLimiter(perCaller: 2, total: 3)
        fill(limiter)
        // Slots dropped without a release (a response body never written) came back all the same.
        let again = (limiter.acquire("a"), limiter.acquire("b"), limiter.acquire("c"))
        #expect(again.0 != nil && again.1 != nil && again.2 != nil)
    }

    func fill(_ limiter: HeavyRequestLimiter) {
        let a1 = limiter.acquire("a")
        let a2 = limiter.acquire("a")
        #expect(a1 != nil && a2 != nil)
        #expect(limiter.acquire("a") == nil)
        let b1 = limiter.acquire("b")
        #expect(b1 != nil)
        #expect(limiter.acquire("c") == nil)  // the process-wide cap
        a1?.release()
        a1?.release()  // released once only
        let c1 = limiter.acquire("c")
        #expect(c1 != nil)
        #expect(limiter.acquire("d") == nil)
        withExtendedLifetime((a2, b1, c1)) {}
    }

    @Test("every staff change is in the audit trail, written with the change; refusals leave nothing")
    func auditTrail() async throws {
        try await API.run { api in
            let partner = try await api.partner(domains: ["audited.test"])
            #expect(try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["name": "Renamed"]).status == .ok)
            let invalid = try await api.call(.patch, "/v1/partners/\(partner.id)", json: ["locale": "not a locale"])
            #expect(invalid.status == .unprocessableContent)
            let token = try await api.call(.post, "/v1/tokens", json: ["role": "analyst", "name": "Auditor"])
            let tokenID = token["id"] as? String ?? ""
            #expect(try await api.call(.delete, "/v1/tokens/\(tokenID)").status == .noContent)
            let notice = API.firstNotice(try await api.submit(["https://audited.test/a"]))
            #expect(
                try await api.call(.post, "/v1/notices/\(notice)/withdraw", json: ["reason": "duplicate"]).status == .ok
            )
            let listID = try await HashListAPITests.list(api, name: "Audited", partners: [partner.id])

            let trail = try await api.call(.get, "/v1/audit?limit=100")
            let entries = trail["entries"] as? [[String: Any]] ?? []
            let actions = entries.compactMap { $0["action"] as? String }
            #expect(
                actions == [
                    "POST /v1/partners", "PATCH /v1/partners/{partner_id}", "POST /v1/tokens",
                    "DELETE /v1/tokens/{token_id}", "POST /v1/cases", "POST /v1/notices/{notice_id}/withdraw",
                    "POST /v1/hash-lists",
                ])
            #expect(entries.allSatisfy { $0["actor"] as? String == "admin:bootstrap" })
            #expect(entries[1]["target"] as? String == partner.id)
            #expect((entries[1]["summary"] as? String)?.contains("Renamed") == true)
            #expect(entries[3]["target"] as? String == tokenID)
            #expect(entries[5]["target"] as? String == notice)
            #expect(!entries.contains { ($0["summary"] as? String)?.contains("not a locale") == true })
            #expect(!trail.text.contains("tdk_"))

            let mine = try await api.call(.get, "/v1/audit?target=\(partner.id)")
            #expect((mine["entries"] as? [[String: Any]])?.count == 1)
            let page = try await api.call(.get, "/v1/audit?limit=2")
            let next = try await api.call(.get, "/v1/audit?limit=100&after=\(page["next_cursor"] as? String ?? "")")
            #expect((next["entries"] as? [[String: Any]])?.count == actions.count - 2)
            #expect(try await api.call(.get, "/v1/audit", token: partner.token).isProblem(.forbidden))
            #expect(try await api.call(.get, "/v1/audit?after=nonsense").isProblem(.badRequest))
            #expect(entries.last?["target"] == nil && !listID.isEmpty)
        }
    }

    @Test("every kind of staff change leaves one entry naming what it changed")
    func auditEachKind() async throws {
        try await API.run { api in
            let partner = try await api.partner(domains: ["kinds.test"])
            func expectCreated(_ reply: Reply) { #expect(reply.status.code < 300, "\(reply.text)") }
            let policy = try await api.call(.post, "/v1/sla-policies", json: SLAPolicyAPITests.fast)
            expectCreated(policy)
            expectCreated(try await api.call(.post, "/v1/partners/\(partner.id)/tokens", json: ["name": "second"]))
            expectCreated(
                try await api.call(
                    .patch, "/v1/partners/\(partner.id)",
                    json: ["delivery": ["webhook_url": "https://hooks.kinds.test/in"]]))
            expectCreated(try await api.call(.post, "/v1/partners/\(partner.id)/webhook-secret"))
            expectCreated(
                try await api.call(.post, "/v1/partners/\(partner.id)/suspend", json: ["reason": "unreachable"]))
            expectCreated(try await api.call(.post, "/v1/partners/\(partner.id)/reactivate"))
            let list = try await HashListAPITests.list(api, partners: [partner.id])
            expectCreated(try await api.call(.patch, "/v1/hash-lists/\(list)", json: ["partners": [String]()]))
            let added = try await api.call(
                .post, "/v1/hash-lists/\(list)/entries", json: ["entries": [HashListAPITests.entry()]])
            expectCreated(added)
            let entry = ((added["entries"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
            expectCreated(
                try await api.call(
                    .patch, "/v1/hash-lists/\(list)/entries/\(entry)", json: ["classification": ["uk_grade": "B"]]))
            expectCreated(try await api.call(.delete, "/v1/hash-lists/\(list)/entries/\(entry)?reason=duplicate"))
            expectCreated(try await api.call(.post, "/v1/hash-lists/\(list)/publish"))

            let entries = (try await api.call(.get, "/v1/audit?limit=1000")["entries"] as? [[String: Any]]) ?? []
            let pairs = entries.map { ($0["action"] as? String ?? "", $0["target"] as? String) }
            let expected: [(String, String?)] = [
                ("POST /v1/partners", nil), ("POST /v1/sla-policies", nil),
                ("POST /v1/partners/{partner_id}/tokens", partner.id), ("PATCH /v1/partners/{partner_id}", partner.id),
                ("POST /v1/partners/{partner_id}/webhook-secret", partner.id),
                ("POST /v1/partners/{partner_id}/suspend", partner.id),
                ("POST /v1/partners/{partner_id}/reactivate", partner.id), ("POST /v1/hash-lists", nil),
                ("PATCH /v1/hash-lists/{list_id}", list), ("POST /v1/hash-lists/{list_id}/entries", list),
                ("PATCH /v1/hash-lists/{list_id}/entries/{entry_id}", entry),
                ("DELETE /v1/hash-lists/{list_id}/entries/{entry_id}", entry),
                ("POST /v1/hash-lists/{list_id}/publish", list),
            ]
            #expect(pairs.map(\.0) == expected.map(\.0))
            #expect(pairs.map(\.1) == expected.map(\.1))
            // The summary is the request as sent; a secret the gateway generated is never in it.
            #expect(!entries.contains { ($0["summary"] as? String ?? "").contains("whsec_") })
        }
    }

    @Test("every list route pages: after a cursor, at most limit, in the order the list grows")
    func listsPage() async throws {
        try await API.run { api in
            let partners = [
                try await api.partner("One", domains: ["one.page.test"]),
                try await api.partner("Two", domains: ["two.page.test"]),
                try await api.partner("Three", domains: ["three.page.test"]),
            ]
            for name in ["A", "B", "C"] { _ = try await HashListAPITests.list(api, name: "List \(name)", partners: []) }
            for (path, key) in [("/v1/partners", "partners"), ("/v1/hash-lists", "hash_lists")] {
                let first = try await api.call(.get, "\(path)?limit=2")
                #expect((first[key] as? [[String: Any]])?.count == 2, "\(path)")
                let cursor = first["next_cursor"] as? String ?? ""
                let second = try await api.call(.get, "\(path)?limit=2&after=\(cursor)")
                #expect((second[key] as? [[String: Any]])?.count == 1, "\(path)")
                let end = try await api.call(.get, "\(path)?after=\(second["next_cursor"] as? String ?? "")")
                #expect((end[key] as? [[String: Any]])?.isEmpty == true, "\(path)")
                #expect(end["next_cursor"] as? String == second["next_cursor"] as? String)
                #expect(try await api.call(.get, "\(path)?limit=1001").isProblem(.badRequest))
                #expect(try await api.call(.get, "\(path)?after=%00").isProblem(.badRequest))
            }
            let names = ((try await api.call(.get, "/v1/partners?limit=3")["partners"]) as? [[String: Any]])?
                .compactMap { $0["id"] as? String }
            #expect(names == partners.map(\.id))
            #expect(
                ((try await api.call(.get, "/v1/sla-policies?limit=1")["policies"]) as? [[String: Any]])?.count == 1)
            let endpoints = try await api.call(.get, "/v1/partners/\(partners[0].id)/endpoints?limit=5")
            #expect(endpoints["next_cursor"] is String)
        }
    }
}
