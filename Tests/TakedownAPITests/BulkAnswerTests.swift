import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("Bulk answers")
struct BulkAnswerTests {
    static func bulk(_ api: API, _ answers: [[String: Any]], token: String) async throws -> [[String: Any]] {
        let reply = try await api.call(.post, "/v1/notices/answers", token: token, json: ["answers": answers])
        #expect(reply.status == .ok, "\(reply.text.prefix(500))")
        return reply["results"] as? [[String: Any]] ?? []
    }

    @Test("1,000 mixed answers in one request, each with its own result, on the single answers' rules")
    func mixed() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            _ = try await api.partner("Other", domains: ["other.test"])
            let theirs = API.firstNotice(try await api.submit(["https://other.test/x.jpg"]))
            var mine: [String] = []
            for index in 0..<250 {
                mine.append(API.firstNotice(try await api.submit(["https://example.com/\(index).jpg"])))
            }
            var answers: [[String: Any]] = []
            var expected: [String] = []
            for (index, notice) in mine.enumerated() {
                switch index % 4 {
                case 0:
                    answers += [
                        ["notice_id": notice, "answer": "acknowledge"], ["notice_id": notice, "answer": "acknowledge"],
                        ["notice_id": notice, "answer": "removal", "action": "removed"],
                        ["notice_id": notice, "answer": "unable", "reason": "too late"],
                    ]
                    expected += ["applied", "already", "applied", "forbidden"]
                case 1:
                    answers += [
                        ["notice_id": notice, "answer": "dispute", "reason": "not ours"],
                        ["notice_id": notice, "answer": "acknowledge"],
                        ["notice_id": notice, "answer": "appeal", "reason": "nothing upheld yet"],
                        ["notice_id": notice, "answer": "removal", "action": "removed", "urls": ["https://bad.test/"]],
                    ]
                    expected += ["applied", "forbidden", "forbidden", "invalid"]
                case 2:
                    answers += [
                        ["notice_id": notice, "answer": "unable", "reason": "no access"],
                        ["notice_id": notice, "answer": "unable", "reason": "no access"],
                        ["notice_id": notice, "answer": "dispute", "reason": "wrong host"],
                        ["notice_id": notice, "answer": "removal", "action": "disabled"],
                    ]
                    expected += ["applied", "already", "applied", "applied"]
                default:
                    answers += [
                        ["notice_id": theirs, "answer": "acknowledge"],
                        ["notice_id": "ntc_\(Synthetic.hex(26))", "answer": "acknowledge"],
                        ["notice_id": notice, "answer": "acknowledge"],
                        [
                            "notice_id": notice, "answer": "removal", "action": "removed",
                            "removed_at": "2099-01-01T00:00:00Z",
                        ],
                    ]
                    expected += ["not_found", "not_found", "applied", "invalid"]
                }
            }
            #expect(answers.count == 1_000)
            let results = try await Self.bulk(api, answers, token: provider.token)
            #expect(results.count == 1_000)
            #expect(results.map { $0["result"] as? String ?? "?" } == expected)
            #expect(results.enumerated().allSatisfy { $0.element["index"] as? Int == $0.offset })
            // The final states, as the provider reads them one by one.
            let states = ["removed", "disputed", "removed", "acknowledged"]
            for (index, notice) in mine.enumerated().filter({ $0.offset < 8 }) {
                let read = try await api.call(.get, "/v1/notices/\(notice)", token: provider.token)
                #expect(read["status"] as? String == states[index % 4], "\(index)")
                #expect(results[index * 4 + 3]["status"] as? String == states[index % 4])
            }
            // Another partner's notice is untouched and not described.
            #expect(try await api.call(.get, "/v1/notices/\(theirs)")["status"] as? String == "issued")
            #expect(results[12]["status"] == nil)

            // Sent again, nothing changes: every answer that applied is now `already` or refused.
            let again = try await Self.bulk(api, answers, token: provider.token)
            #expect(!again.contains { $0["result"] as? String == "applied" })
        }
    }

    @Test("a bulk request is refused whole only for its envelope; answers at fault get their own sentence")
    func envelope() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let notice = API.firstNotice(try await api.submit(["https://example.com/1.jpg"]))
            for body: Any in [
                [String: Any](), ["answers": []],
                ["answers": Array(repeating: ["answer": "acknowledge"], count: 1_001)],
            ] {
                let refused = try await api.call(.post, "/v1/notices/answers", token: provider.token, json: body)
                #expect(refused.isProblem(.unprocessableContent) && refused.invalidFields == ["answers"])
            }
            #expect(
                try await api.call(.post, "/v1/notices/answers", token: provider.token, raw: #"{"answers": 5}"#)
                    .isProblem(.badRequest))
            #expect(
                try await api.call(
                    .post, "/v1/notices/answers", json: ["answers": [["notice_id": notice, "answer": "acknowledge"]]]
                )
                .isProblem(.forbidden))
            let results = try await Self.bulk(
                api,
                [
                    ["notice_id": notice, "answer": "shrug"], ["answer": "acknowledge"],
                    ["notice_id": notice, "answer": "unable"], ["notice_id": notice, "answer": "removal"],
                    ["notice_id": notice, "answer": "acknowledge"],
                ], token: provider.token)
            #expect(
                results.map { $0["result"] as? String ?? "?" } == [
                    "invalid", "invalid", "invalid", "invalid", "applied",
                ])
            #expect((results[0]["detail"] as? String)?.contains("answer must be") == true)
            #expect((results[2]["detail"] as? String)?.contains("reason") == true)
            #expect((results[3]["detail"] as? String)?.contains("action") == true)
        }
    }
}
