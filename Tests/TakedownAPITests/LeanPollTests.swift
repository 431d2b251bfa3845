import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("Lean polling")
struct LeanPollTests {
    @Test("a lean poll lists ids, states and clocks, pages as the full one, and marks nothing delivered")
    func leanPoll() async throws {
        try await API.run { api in
            let provider = try await api.partner()
            let other = try await api.partner("Other", domains: ["other.test"])
            var issued: [String] = []
            for index in 0..<5 {
                issued.append(API.firstNotice(try await api.submit(["https://example.com/lean/\(index).jpg"])))
            }
            _ = try await api.submit(["https://other.test/x.jpg"])

            let lean = try await api.call(.get, "/v1/notices?view=lean&limit=3", token: provider.token)
            #expect(lean.status == .ok && lean.contentType == "application/json", "\(lean.text)")
            let first = try #require(lean["notices"] as? [[String: Any]])
            #expect(first.map { $0["id"] as? String } == Array(issued.prefix(3)))
            #expect(Set(first[0].keys) == ["id", "status", "sequence", "issued_at", "deadline_at"])
            #expect(first.allSatisfy { $0["status"] as? String == "issued" && $0["sequence"] as? Int == 1 })
            let cursor = try #require(lean["next_cursor"] as? String)
            let rest = try await api.call(.get, "/v1/notices?view=lean&after=\(cursor)", token: provider.token)
            #expect((rest["notices"] as? [[String: Any]])?.map { $0["id"] as? String } == Array(issued.suffix(2)))

            // Nothing was retrieved: still `issued`; a full read marks them delivered, and the lean poll sees it.
            let shown = try await api.call(.get, "/v1/notices/\(issued[0])")
            #expect(shown["status"] as? String == "issued")
            let full = try await api.call(.get, "/v1/notices?limit=1", token: provider.token)
            #expect((full["notices"] as? [[String: Any]])?.first?["status"] as? String == "delivered")
            let after = try await api.call(.get, "/v1/notices?view=lean&status=delivered", token: provider.token)
            #expect((after["notices"] as? [[String: Any]])?.map { $0["id"] as? String } == [issued[0]])
            // The same page in full and lean, for staff across partners.
            let staffFull = try await api.call(.get, "/v1/notices?limit=100")
            let staffLean = try await api.call(.get, "/v1/notices?limit=100&view=lean")
            #expect(
                (staffFull["notices"] as? [[String: Any]])?.map { $0["id"] as? String }
                    == (staffLean["notices"] as? [[String: Any]])?.map { $0["id"] as? String })
            #expect(staffFull["next_cursor"] as? String == staffLean["next_cursor"] as? String)
            #expect(
                ((try await api.call(.get, "/v1/notices?view=lean", token: other.token))["notices"] as? [Any])?.count
                    == 1)
            #expect(try await api.call(.get, "/v1/notices?view=compact", token: provider.token).isProblem(.badRequest))
        }
    }
}
