import Foundation
import HTTPTypes
import TakedownSigning
import TakedownTestSupport
import Testing

@Suite("API: notices")
struct NoticeAPITests {
    static func ids(_ reply: Reply) -> [String] {
        (reply["notices"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    @Test("a provider polls its own notices in issue order with a cursor that stays valid")
    func polling() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let b = try await api.partner("B", domains: ["b.test"])
            var mine: [String] = []
            for index in 0..<5 {
                let reply = try await api.submit(["https://a.test/\(index)", "https://b.test/\(index)"])
                mine.append(API.firstNotice(reply))
            }
            let page1 = try await api.call(.get, "/v1/notices?limit=2", token: a.token)
            #expect(Self.ids(page1) == Array(mine[0..<2]))
            let cursor = try #require(page1["next_cursor"] as? String)
            let page2 = try await api.call(.get, "/v1/notices?after=\(cursor)", token: a.token)
            #expect(Self.ids(page2) == Array(mine[2...]))
            let end = try #require(page2["next_cursor"] as? String)
            #expect(Self.ids(try await api.call(.get, "/v1/notices?after=\(end)", token: a.token)).isEmpty)

            // New notices appear after the old cursor; the cursor still works.
            let later = API.firstNotice(try await api.submit(["https://a.test/late"]))
            #expect(Self.ids(try await api.call(.get, "/v1/notices?after=\(end)", token: a.token)) == [later])
            #expect(
                Self.ids(try await api.call(.get, "/v1/notices?after=\(cursor)&limit=1", token: a.token)) == [mine[2]])

            // B sees only its own; staff see all.
            let bs = Self.ids(try await api.call(.get, "/v1/notices", token: b.token))
            #expect(bs.count == 5)
            #expect(Set(bs).isDisjoint(with: mine))
            #expect(Self.ids(try await api.call(.get, "/v1/notices?limit=500")).count == 11)

            #expect(try await api.call(.get, "/v1/notices?after=zzz", token: a.token).invalidFields == ["after"])
            #expect(try await api.call(.get, "/v1/notices?limit=0", token: a.token).invalidFields == ["limit"])
            #expect(try await api.call(.get, "/v1/notices?limit=501", token: a.token).invalidFields == ["limit"])
        }
    }

    @Test("another partner's notice is a 404 for every route, never a 403")
    func isolation() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let b = try await api.partner("B", domains: ["b.test"])
            let notice = API.firstNotice(try await api.submit(["https://a.test/1"]))
            #expect(try await api.call(.get, "/v1/notices/\(notice)", token: b.token).isProblem(.notFound))
            #expect(try await api.call(.get, "/v1/notices/\(notice)/xarf", token: b.token).isProblem(.notFound))
            for answer in ["acknowledge", "unable", "dispute"] {
                let reply = try await api.call(
                    .post, "/v1/notices/\(notice)/\(answer)", token: b.token, json: ["reason": "x"])
                #expect(reply.isProblem(.notFound), "\(answer)")
            }
            let removal = try await api.call(
                .post, "/v1/notices/\(notice)/removal", token: b.token, json: ["action": "removed"])
            #expect(removal.isProblem(.notFound))
            let shown = try await api.call(.get, "/v1/notices/\(notice)", token: a.token)
            #expect(shown["status"] as? String == "delivered")
            #expect(shown["case_id"] == nil)
            #expect(try await api.call(.get, "/v1/notices/\(notice)")["case_id"] is String)
        }
    }

    @Test("the notice verifies against the published keys, before and after a rotation")
    func signatures() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let first = API.firstNotice(try await api.submit(["https://a.test/1"]))
            let jose = try await api.call(
                .get, "/v1/notices/\(first)", token: a.token, headers: ["Accept": "application/jose"])
            #expect(jose.contentType == "application/jose")
            let view = try await api.call(.get, "/v1/notices/\(first)", token: a.token)
            #expect(view["jws"] as? String == jose.text)

            try await api.test.gateway.rotateKey()
            let second = API.firstNotice(try await api.submit(["https://a.test/2"]))
            let keys = try JSONDecoder().decode(
                JWKSet.self, from: try await api.call(.get, "/.well-known/jwks.json", token: nil).data)
            #expect(keys.keys.count == 2)
            var kids: [String] = []
            for id in [first, second] {
                let reply = try await api.call(.get, "/v1/notices/\(id)", token: a.token)
                let jws = try #require(reply["jws"] as? String)
                let (header, payload) = try JWS.verify(jws, keys: keys)
                kids.append(header.kid)
                let claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
                #expect(claims["jti"] as? String == id)
                #expect(claims["aud"] as? String == a.id)
                #expect(claims["iss"] as? String == "https://gateway.test")
                #expect(claims["iat"] is Int)
                #expect(NSDictionary(dictionary: claims).isEqual(to: reply["document"] as? [String: Any] ?? [:]))
            }
            #expect(kids[0] != kids[1])
        }
    }

    @Test("content negotiation: JSON, JWS, text in the recipient's language, ?lang, 406")
    func negotiation() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"], locale: "de-AT")
            let notice = API.firstNotice(try await api.submit(["https://a.test/1"]))
            let german = try await api.call(
                .get, "/v1/notices/\(notice)", token: a.token, headers: ["Accept": "text/plain"])
            #expect(german.contentType == "text/plain; charset=utf-8")
            #expect(german.text.hasPrefix("MELDUNG ZUR ENTFERNUNG \(notice)"))
            #expect(german.text.contains("https://a.test/1"))
            let french = try await api.call(
                .get, "/v1/notices/\(notice)?lang=fr", token: a.token, headers: ["Accept": "text/plain"])
            #expect(french.text.hasPrefix("NOTIFICATION DE RETRAIT"))
            let fallback = try await api.call(
                .get, "/v1/notices/\(notice)?lang=pt", token: a.token, headers: ["Accept": "text/plain"])
            #expect(fallback.text.hasPrefix("TAKEDOWN NOTICE"))
            let json = try await api.call(
                .get, "/v1/notices/\(notice)", token: a.token, headers: ["Accept": "application/json, text/plain"])
            #expect(json.contentType == "application/json")
            let other = API.firstNotice(try await api.submit(["https://a.test/2"]))
            #expect(
                try await api.call(.get, "/v1/notices/\(other)", token: a.token, headers: ["Accept": "image/png"])
                    .isProblem(.notAcceptable))
            // Refusing the media type must not count as the provider having retrieved the notice.
            #expect(try await api.call(.get, "/v1/notices/\(other)")["status"] as? String == "issued")
        }
    }

    @Test("XARF: one content/csam report per item")
    func xarf() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let notice = API.firstNotice(try await api.submit(["https://a.test/1", "https://a.test/2"]))
            let reply = try await api.call(.get, "/v1/notices/\(notice)/xarf", token: a.token)
            let reports = try #require(reply["reports"] as? [[String: Any]])
            #expect(reports.count == 2)
            #expect(reports.map { $0["url"] as? String } == ["https://a.test/1", "https://a.test/2"])
            #expect(reports.allSatisfy { $0["category"] as? String == "content" && $0["type"] as? String == "csam" })
        }
    }

    @Test("answers walk the state machine: repeats are harmless, forbidden steps are 409")
    func answers() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let notice = API.firstNotice(try await api.submit(["https://a.test/1", "https://a.test/2"]))
            let path = "/v1/notices/\(notice)"

            let acknowledged = try await api.call(.post, "\(path)/acknowledge", token: a.token)
            #expect(acknowledged.status == .ok)
            #expect(acknowledged["status"] as? String == "acknowledged")
            #expect(acknowledged["acknowledged_at"] is String)
            // The answer shows the signed notice as stored, though the write read it without its document.
            let stored = try await api.call(.get, path, token: a.token)
            #expect(
                (acknowledged["jws"] as? String)?.isEmpty == false
                    && acknowledged["jws"] as? String == stored["jws"] as? String)
            #expect((acknowledged["document"] as? [String: Any])?["id"] as? String == notice)
            let again = try await api.call(.post, "\(path)/acknowledge", token: a.token)
            #expect(again["status"] as? String == "acknowledged")
            #expect((again["timeline"] as? [Any])?.count == (acknowledged["timeline"] as? [Any])?.count)

            #expect(try await api.call(.post, "\(path)/acknowledge").isProblem(.forbidden))
            #expect(
                try await api.call(.post, "\(path)/withdraw", token: a.token, json: ["reason": "x"]).isProblem(
                    .forbidden))

            let noAction = try await api.call(
                .post, "\(path)/removal", token: a.token, json: ["urls": ["https://a.test/1"]])
            #expect(noAction.invalidFields == ["action"])
            let unknown = try await api.call(
                .post, "\(path)/removal", token: a.token, json: ["action": "removed", "urls": ["https://a.test/9"]])
            #expect(unknown.isProblem(.unprocessableContent))
            let future = try await api.call(
                .post, "\(path)/removal", token: a.token,
                json: ["action": "removed", "removed_at": "2099-01-01T00:00:00Z"])
            #expect(future.invalidFields == ["removed_at"])

            let early = try await api.call(
                .post, "\(path)/removal", token: a.token,
                json: ["action": "removed", "removed_at": "2026-11-29T07:30:00Z"])
            #expect(early.invalidFields == ["removed_at"])
            api.test.clock.advance(by: 3600)
            let partial = try await api.call(
                .post, "\(path)/removal", token: a.token,
                json: ["action": "disabled", "urls": ["https://a.test/1"], "removed_at": "2027-01-15T08:30:00Z"])
            #expect(partial["status"] as? String == "acknowledged")
            #expect(partial["removed_at"] == nil)
            let items = try #require(partial["items"] as? [[String: Any]])
            #expect(items[0]["removed_at"] as? String == "2027-01-15T08:30:00.000Z")
            #expect(items[0]["action"] as? String == "disabled")
            #expect(items[1]["removed_at"] == nil)

            let removed = try await api.call(.post, "\(path)/removal", token: a.token, json: ["action": "removed"])
            #expect(removed["status"] as? String == "removed")
            #expect(removed["removed_at"] is String)
            let events = (removed["timeline"] as? [[String: Any]])?.compactMap { $0["event"] as? String }
            #expect(events == ["issued", "delivered", "acknowledged", "removal_reported", "removed"])
            let actors = (removed["timeline"] as? [[String: Any]])?.compactMap { $0["actor"] as? String }
            #expect(actors?.last == "partner:\(a.id)")
            // The partner sees itself and "hotline"; staff see who issued the notice.
            #expect(actors?.first == "hotline")
            let staffView = try await api.call(.get, path)
            let staffActors = (staffView["timeline"] as? [[String: Any]])?.compactMap { $0["actor"] as? String }
            #expect(staffActors?.first == "admin:bootstrap")

            #expect(
                try await api.call(.post, "\(path)/unable", token: a.token, json: ["reason": "gone"]).isProblem(
                    .conflict))
            #expect(
                try await api.call(.post, "\(path)/dispute", token: a.token, json: ["reason": "no"]).isProblem(
                    .conflict))
            #expect(try await api.call(.post, "\(path)/withdraw", json: ["reason": "mistake"]).isProblem(.conflict))
            #expect(
                try await api.call(.post, "\(path)/removal", token: a.token, json: ["action": "removed"])["status"]
                    as? String == "removed")
            #expect(try await api.call(.get, path, token: a.token)["status"] as? String == "removed")
        }
    }

    @Test("staff withdraw; the provider then cannot answer")
    func withdraw() async throws {
        try await API.run { api async throws in
            let a = try await api.partner("A", domains: ["a.test"])
            let notice = API.firstNotice(try await api.submit(["https://a.test/1"]))
            let path = "/v1/notices/\(notice)"
            #expect(try await api.call(.post, "\(path)/withdraw", json: [:]).invalidFields == ["reason"])
            let disputed = try await api.call(
                .post, "\(path)/dispute", token: a.token, json: ["reason": "lawful content"])
            #expect(disputed["status"] as? String == "disputed")
            let withdrawn = try await api.call(.post, "\(path)/withdraw", json: ["reason": "dispute upheld"])
            #expect(withdrawn["status"] as? String == "withdrawn")
            #expect((withdrawn["timeline"] as? [[String: Any]])?.last?["detail"] as? String == "dispute upheld")
            #expect(try await api.call(.post, "\(path)/acknowledge", token: a.token).isProblem(.conflict))
            #expect(
                try await api.call(.post, "\(path)/removal", token: a.token, json: ["action": "removed"]).isProblem(
                    .conflict))
            #expect(
                try await api.call(.post, "\(path)/withdraw", json: ["reason": "again"])["status"] as? String
                    == "withdrawn")
        }
    }
}
