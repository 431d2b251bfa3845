import Foundation
import HTTPTypes
import TakedownModel
import TakedownService
import TakedownTestSupport
import Testing

@Suite("Console", .serialized)
struct ConsoleTests {
    static let batch = "https://files.example.com/a.jpg md5:\(Synthetic.hex(32))"

    @Test("sign-in trades a token for a session cookie with its flags; sign-out ends the session on the server")
    func signInAndOut() async throws {
        try await API.run { api in
            let browser = ConsoleBrowser(api)
            let form = try await browser.get("/console/sign-in")
            #expect(form.status == .ok && form.text.contains(#"name="token""#))
            let signInCookie = try #require(
                form.headers[values: .setCookie].first { $0.hasPrefix("takedown_sign_in=") })
            #expect(signInCookie.contains("HttpOnly") && signInCookie.contains("SameSite=Strict"))

            let signedIn = try await browser.post("/console/sign-in", [("token", API.admin)])
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/console/dashboard")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("takedown_session=") })
            for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console", "Max-Age=36000"] {
                #expect(cookie.contains(flag), "\(flag) missing from \(cookie)")
            }
            let session = try #require(browser.cookies["takedown_session"])

            let dashboard = try await browser.get("/console/dashboard")
            #expect(dashboard.status == .ok && dashboard.text.contains("<h1>Dashboard</h1>"))
            let policy = try #require(dashboard.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(dashboard.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(dashboard.headers[.cacheControl] == "no-store")

            let out = try await browser.post("/console/sign-out")
            #expect(out.status == .seeOther && out.headers[.location] == "/console/sign-in")
            // The old cookie, replayed by a browser that kept it, opens nothing: the server ended it.
            browser.forget(keeping: session)
            let after = try await browser.get("/console/dashboard")
            #expect(after.status == .seeOther && after.headers[.location] == "/console/sign-in")
            let hash = sha256Hex(Data(session.utf8))
            #expect(try await api.test.store.consoleSession(idHash: hash) == nil)
        }
    }

    @Test("a console served over http sets no Secure flag; a wrong token is refused with a sentence")
    func plainHTTPAndWrongToken() async throws {
        try await API.run(configure: { $0.publicURL = "http://localhost:8080" }) { api in
            let browser = ConsoleBrowser(api)
            let wrong = try await browser.signIn("tdk_" + Synthetic.hex(40))
            #expect(wrong.status == .unauthorized && wrong.text.contains("That token is not valid"))
            #expect(browser.cookies["takedown_session"] == nil)
            let signedIn = try await browser.signIn(API.admin)
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("takedown_session=") })
            #expect(!cookie.contains("Secure"))
        }
    }

    @Test("a form without, or with a wrong, CSRF token is refused and changes nothing")
    func csrf() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let notice = API.firstNotice(try await api.submit(["https://example.com/x.jpg"]))
            let browser = ConsoleBrowser(api)
            try await browser.signIn(API.admin)
            let token = try #require(browser.csrf)
            for csrf in ["", String(token.reversed()), token + "x", String(repeating: "A", count: 43)] {
                let refused = try await browser.post(
                    "/console/notices/\(notice)/withdraw", [("reason", "test")], csrf: .some(csrf))
                #expect(refused.status == .forbidden, "\(csrf)")
                #expect(refused.text.contains("did not come from this console"))
            }
            let missing = try await browser.post("/console/notices/\(notice)/withdraw", [("reason", "x")], csrf: .none)
            #expect(missing.status == .forbidden)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["status"] as? String == "issued")

            // Another session's token is no good either.
            let other = ConsoleBrowser(api)
            try await other.signIn(provider.token)
            let crossed = try await other.post(
                "/console/notices/\(notice)/acknowledge", csrf: .some(token))
            #expect(crossed.status == .forbidden)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["status"] as? String == "issued")

            // The sign-in form's token is checked too.
            let fresh = ConsoleBrowser(api)
            #expect(try await fresh.post("/console/sign-in", [("token", API.admin)], csrf: .none).status == .forbidden)

            let done = try await browser.post("/console/notices/\(notice)/withdraw", [("reason", "sent in error")])
            #expect(done.status == .seeOther)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["status"] as? String == "withdrawn")
        }
    }

    @Test("a reference and a partner name with <script> and quotes are escaped on every page")
    func escaping() async throws {
        try await API.run { api in
            let hostile = #"<script>alert("x")</script> & 'Co'"#
            let provider = try await api.partner(hostile)
            var body = API.caseBody([API.item("https://example.com/\(Synthetic.hex(4)).jpg")], reference: hostile)
            body["notes"] = hostile
            let receipt = try await api.call(.post, "/v1/cases", json: body)
            let caseID = try #require(receipt["id"] as? String)
            let notice = API.firstNotice(receipt)

            let staff = ConsoleBrowser(api)
            try await staff.signIn(API.admin)
            let partner = ConsoleBrowser(api)
            try await partner.signIn(provider.token)
            let pages: [(ConsoleBrowser, String)] = [
                (staff, "/console/dashboard"), (staff, "/console/cases/\(caseID)"),
                (staff, "/console/notices/\(notice)"),
                (staff, "/console/partners"), (staff, "/console/partners/\(provider.id)"), (partner, "/console/inbox"),
                (partner, "/console/notices/\(notice)"), (partner, "/console/scorecard"),
                (partner, "/console/settings"),
            ]
            for (browser, path) in pages {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path): \(page.status)")
                #expect(!page.text.contains("<script>alert"), "\(path) shows the name unescaped")
                #expect(!page.text.contains(#"alert("x")"#), "\(path) shows quotes unescaped")
            }
            #expect(try await staff.get("/console/cases/\(caseID)").text.contains("&lt;script&gt;alert(&quot;x&quot;)"))
            #expect(try await staff.get("/console/partners").text.contains("&#39;Co&#39;"))
        }
    }

    @Test("a provider's session sees only its own notices and no staff page")
    func providerScope() async throws {
        try await API.run { api in
            let mine = try await api.partner("Mine", domains: ["mine.test"])
            _ = try await api.partner("Theirs", domains: ["theirs.test"])
            let own = API.firstNotice(try await api.submit(["https://mine.test/1.jpg"]))
            let theirs = API.firstNotice(try await api.submit(["https://theirs.test/1.jpg"]))
            let browser = ConsoleBrowser(api)
            let home = try await browser.signIn(mine.token)
            #expect(home.headers[.location] == "/console/inbox")
            let inbox = try await browser.get("/console/inbox")
            #expect(inbox.text.contains(own) && !inbox.text.contains(theirs))
            #expect(try await browser.get("/console/notices/\(own)").status == .ok)
            #expect(try await browser.get("/console/notices/\(theirs)").status == .notFound)
            #expect(try await browser.get("/console/notices/\(theirs)/jws").status == .notFound)
            for path in [
                "/console/dashboard", "/console/partners", "/console/cases/new", "/console/partners/\(mine.id)",
            ] {
                #expect(try await browser.get(path).status == .forbidden, "\(path)")
            }
            #expect(try await browser.post("/console/notices/\(own)/withdraw", [("reason", "x")]).status == .forbidden)
            #expect(try await browser.post("/console/notices/\(theirs)/acknowledge").status == .notFound)
            #expect(try await api.call(.get, "/v1/notices/\(theirs)")["status"] as? String == "issued")
        }
    }

    @Test("an analyst previews a batch (nothing issued), then issues it once, however often the form is sent")
    func previewAndIssue() async throws {
        try await API.run { api in
            _ = try await api.partner("Alpha", domains: ["alpha.test"])
            _ = try await api.partner("Beta", domains: ["beta.test"])
            let browser = ConsoleBrowser(api)
            try await browser.signIn(API.admin)
            let batch = [
                "https://alpha.test/1.jpg md5:\(Synthetic.hex(32))",
                "https://beta.test/2.jpg \(Synthetic.hex(64))",
                "https://unknown-host.test/3.jpg sha1:\(Synthetic.hex(40))",
            ].joined(separator: "\r\n")
            let fields = [("reference", "HL-preview"), ("grade", "B"), ("media_type", "image"), ("batch", batch)]
            let preview = try await browser.post("/console/cases/preview", fields)
            #expect(preview.status == .ok, "\(preview.text)")
            #expect(preview.text.contains("Alpha") && preview.text.contains("Beta"))
            #expect(preview.text.contains("no matching"))
            let before = try await api.call(.get, "/v1/notices")["notices"] as? [Any]
            #expect(before?.isEmpty == true, "the preview issued a notice")
            let key = try #require(
                preview.text.range(of: #"name="idempotency_key" value=""#).map {
                    String(preview.text[$0.upperBound...].prefix { $0 != "\"" })
                })
            let issued = try await browser.post("/console/cases", fields + [("idempotency_key", key)])
            #expect(issued.status == .seeOther)
            let again = try await browser.post("/console/cases", fields + [("idempotency_key", key)])
            #expect(again.headers[.location] == issued.headers[.location])
            let notices = try await api.call(.get, "/v1/notices")["notices"] as? [[String: Any]] ?? []
            #expect(notices.count == 2)
            let casePage = try await browser.get(try #require(issued.headers[.location]))
            #expect(casePage.text.contains("unrouted") && casePage.text.contains("Route an unrouted URL"))

            // A line without a hash is refused with a sentence naming its line; nothing is issued.
            let bad = try await browser.post(
                "/console/cases/preview",
                [
                    ("reference", "HL-bad"), ("grade", "A"), ("media_type", "image"),
                    ("batch", "https://alpha.test/9.jpg\nnot-a-url md5:\(Synthetic.hex(32))"),
                ])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("Line 1:") && bad.text.contains("Line 2: url must be"), "\(bad.text)")
        }
    }

    @Test("a provider acknowledges and reports part of a notice removed; the analyst's pages show it")
    func answers() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let notice = API.firstNotice(
                try await api.submit(["https://example.com/1.jpg", "https://example.com/2.jpg"]))
            let browser = ConsoleBrowser(api)
            try await browser.signIn(provider.token)
            let page = try await browser.get("/console/notices/\(notice)")
            #expect(page.text.contains("valid Ed25519 signature"))
            #expect(try await browser.post("/console/notices/\(notice)/acknowledge").status == .seeOther)
            let none = try await browser.post("/console/notices/\(notice)/removal", [("action", "removed")])
            #expect(none.status == .unprocessableContent && none.text.contains("Tick at least one URL."))
            let part = try await browser.post(
                "/console/notices/\(notice)/removal", [("urls", "https://example.com/1.jpg"), ("action", "removed")])
            #expect(part.status == .seeOther)
            let stored = try await api.call(.get, "/v1/notices/\(notice)")
            #expect(stored["status"] as? String == "acknowledged")
            let items = stored["items"] as? [[String: Any]] ?? []
            #expect(items.filter { $0["removed_at"] != nil }.count == 1)

            let staff = ConsoleBrowser(api)
            try await staff.signIn(API.admin)
            let view = try await staff.get("/console/notices/\(notice)")
            #expect(view.text.contains("acknowledged") && view.text.contains("removal"))
            let card = try await staff.get("/console/partners/\(provider.id)")
            #expect(card.text.components(separatedBy: "<svg").count - 1 == 3)
            #expect(card.text.contains("role=\"img\"") && card.text.contains("<title id="))
            let badRecover = try await staff.post("/console/partners/\(provider.id)/recover", [("since", "yesterday")])
            #expect(badRecover.status == .unprocessableContent && badRecover.text.contains("since: must be a date"))
            let recovered = try await staff.post(
                "/console/partners/\(provider.id)/recover",
                [("since", "2026-01-01T00:00"), ("until", "2030-01-01T00:00")])
            #expect(recovered.headers[.location] == "/console/partners/\(provider.id)?done=recovered-0")
        }
    }

    @Test("hostile forms: bad encoding, too many fields, a huge body and a forged cookie are refused")
    func hostileForms() async throws {
        try await API.run { api in
            let browser = ConsoleBrowser(api)
            try await browser.signIn(API.admin)
            let csrf = try #require(browser.csrf)
            #expect(
                try await browser.send(.post, "/console/cases/preview", body: "csrf=\(csrf)&batch=%ZZ").status
                    == .badRequest)
            #expect(
                try await browser.send(.post, "/console/cases/preview", body: "csrf=\(csrf)&b=%FF%FE").status
                    == .badRequest)
            let many = (0..<3000).map { "f\($0)=1" }.joined(separator: "&")
            #expect(
                try await browser.send(.post, "/console/cases/preview", body: many + "&csrf=\(csrf)").status
                    == .badRequest)
            let huge = "csrf=\(csrf)&batch=" + String(repeating: "a", count: 6 * 1024 * 1024)
            #expect(try await browser.send(.post, "/console/cases/preview", body: huge).status == .contentTooLarge)
            browser.forget(keeping: "tcs_" + String(repeating: "A", count: 43))
            #expect(try await browser.get("/console/dashboard").status == .seeOther)
            browser.forget(keeping: String(repeating: "x", count: 3000))
            #expect(try await browser.get("/console/dashboard").status == .seeOther)
            #expect(try await browser.get("/console/static/..%2F..%2Fetc%2Fpasswd").status == .notFound)
            #expect(try await browser.get("/console/dashboard?page=0").status != .ok)
        }
    }

    @Test(
        "a liaison downloads an export whose SHA-256 the page and the manifest give; staff review feedback and the log")
    func lists() async throws {
        try await API.run { api in
            let police = try await api.partner("Police Unit", domains: [], kind: "law_enforcement")
            let created = try await api.call(
                .post, "/v1/hash-lists",
                json: [
                    "name": "le-a", "audience": "law_enforcement", "hash_types": ["md5", "sha256"],
                    "include": ["uk_grades": ["A"]], "partners": [police.id],
                ])
            let list = try #require(created["id"] as? String)
            _ = try await api.partner(domains: ["example.com"])
            _ = try await api.submit(["https://example.com/1.jpg", "https://example.com/2.jpg"])

            let staff = ConsoleBrowser(api)
            try await staff.signIn(API.admin)
            #expect(
                try await staff.post("/console/lists/\(list)/publish").headers[.location]
                    == "/console/lists/\(list)?done=published")

            let liaison = ConsoleBrowser(api)
            #expect(try await liaison.signIn(police.token).headers[.location] == "/console/lists")
            let page = try await liaison.get("/console/lists/\(list)")
            let manifest = try await api.call(
                .get, "/v1/hash-lists/\(list)/versions/latest/manifest", token: police.token)
            let exports = (manifest["manifest"] as? [String: Any])?["exports"] as? [[String: Any]] ?? []
            let md5 = try #require(
                exports.first { $0["hash"] as? String == "md5" && $0["format"] as? String == "text" })
            let digest = try #require(md5["sha256"] as? String)
            #expect(page.text.contains(digest))
            let download = try await liaison.get("/console/lists/\(list)/versions/1/export?format=text&hash=md5")
            #expect(download.status == .ok && sha256Hex(download.data) == digest)

            let entries = try await api.call(.get, "/v1/hash-lists/\(list)/changes", token: police.token)
            let ids: [String] = entries.text.split(separator: "\n").compactMap { line in
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return object?["entry_id"] as? String
            }
            let entry = try #require(ids.first)
            let sent = try await liaison.post(
                "/console/lists/\(list)/feedback",
                [("entry_id", entry), ("verdict", "false_positive"), ("comment", "<b>not ours</b>")])
            #expect(sent.headers[.location] == "/console/lists/\(list)?done=feedback")
            #expect(try await liaison.get("/console/lists/\(list)/review").status == .forbidden)
            #expect(try await liaison.get("/console/lists/\(list)/downloads").status == .forbidden)

            let review = try await staff.get("/console/lists/\(list)/review")
            #expect(review.text.contains(entry) && review.text.contains("&lt;b&gt;not ours&lt;/b&gt;"))
            let feedback = try #require(
                review.text.range(of: "/feedback/").map { String(review.text[$0.upperBound...].prefix { $0 != "/" }) })
            let resolved = try await staff.post(
                "/console/lists/\(list)/feedback/\(feedback)/resolve", [("action", "keep"), ("note", "checked")])
            #expect(resolved.status == .seeOther)
            #expect(try await staff.get("/console/lists/\(list)/review").text.contains("No feedback is waiting."))
            let entryPage = try await api.call(.get, "/v1/hash-lists/\(list)/entries/\(entry)")
            let md5Value = try #require((entryPage["hashes"] as? [String: Any])?["md5"] as? String)
            let found = try await staff.get("/console/lists/\(list)?hash=\(md5Value.uppercased())")
            #expect(found.text.contains("Entry <code>\(entry)</code>"))
            #expect(try await staff.get("/console/lists/\(list)?hash=\(Synthetic.hex(32))").text.contains("No entry"))
            #expect(try await staff.get("/console/lists/\(list)?hash=xyz").text.contains("The hash must be"))
            let log = try await staff.get("/console/lists/\(list)/downloads")
            #expect(log.text.contains("partner:\(police.id)") && log.text.contains("text (md5)"))
        }
    }

    @Test("a dispute decided in the console: uphold, one appeal, decided by another staff member")
    func disputes() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let notice = API.firstNotice(try await api.submit(["https://example.com/1.jpg"]))
            let partner = ConsoleBrowser(api)
            try await partner.signIn(provider.token)
            #expect(
                try await partner.post("/console/notices/\(notice)/dispute", [("reason", "not our server")]).status
                    == .seeOther)

            let alice = ConsoleBrowser(api)
            try await alice.signIn(
                try await api.test.gateway.tokenDesk.createStaffToken(role: .analyst, name: "alice").secret)
            let page = try await alice.get("/console/notices/\(notice)")
            #expect(page.text.contains("Decide the dispute"))
            let missing = try await alice.post("/console/notices/\(notice)/decide", [("reason", "it is")])
            #expect(missing.status == .unprocessableContent && missing.text.contains("Choose to uphold"))
            let upheld = try await alice.post(
                "/console/notices/\(notice)/decide", [("decision", "uphold"), ("reason", "the address is yours")])
            #expect(upheld.status == .seeOther)

            let seen = try await partner.get("/console/notices/\(notice)")
            #expect(seen.text.contains("the address is yours") && seen.text.contains("Appeal the decision"))
            #expect(!seen.text.contains("analyst:alice"))
            #expect(!seen.text.contains("/console/notices/\(notice)/dispute\""))
            #expect(
                try await partner.post("/console/notices/\(notice)/appeal", [("reason", "moved out")]).status
                    == .seeOther)

            let appealed = try await alice.get("/console/notices/\(notice)")
            #expect(appealed.text.contains("Decide the appeal") && appealed.text.contains("analyst:alice"))
            let same = try await alice.post(
                "/console/notices/\(notice)/decide", [("decision", "uphold"), ("reason", "still yours")])
            #expect(same.status == .forbidden && same.text.contains("another staff member"))
            let admin = ConsoleBrowser(api)
            try await admin.signIn(API.admin)
            #expect(
                try await admin.post(
                    "/console/notices/\(notice)/decide", [("decision", "accept"), ("reason", "moved")]
                )
                .status == .seeOther)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["status"] as? String == "withdrawn")
        }
    }

    @Test("the inbox and the dashboard page by 50, every notice on exactly one page")
    func paging() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            var issued: [String] = []
            for index in 0..<53 {
                issued.append(API.firstNotice(try await api.submit(["https://example.com/\(index).jpg"])))
            }
            for (token, path) in [(provider.token, "/console/inbox"), (API.admin, "/console/dashboard")] {
                let browser = ConsoleBrowser(api)
                try await browser.signIn(token)
                let first = try await browser.get(path)
                let second = try await browser.get(path + "?page=2")
                let onFirst = issued.filter { first.text.contains("/console/notices/\($0)\"") }
                let onSecond = issued.filter { second.text.contains("/console/notices/\($0)\"") }
                #expect(onFirst.count == 50 && onSecond.count == 3, "\(path)")
                #expect(Set(onFirst).isDisjoint(with: onSecond))
                #expect(first.text.contains("?page=2") && !second.text.contains("?page=3"))
            }
        }
    }
}
