import Foundation
import HTTPTypes
import Hummingbird
import TakedownAPI
import TakedownServer
import TakedownTestSupport
import Testing

@Suite("API description")
struct OpenAPITests {
    /// Fails when the router and `Schemas/openapi.json` disagree about any (method, path).
    @Test("the OpenAPI document lists exactly the routes the router serves")
    func routesMatch() async throws {
        let test = try await TestGateway()
        defer { test.remove() }
        let router = GatewayAPI.router(
            gateway: test.gateway, settings: try GatewayComposition.apiSettings(test.settings))
        // The console's pages are HTML for people, not part of the API the document describes.
        let served = Set(
            router.routes.map { "\($0.method.rawValue) \(normalise("\($0.path)"))" }.filter {
                !$0.contains(" /console")
            })

        let data = try Data(contentsOf: Repository.schemas.appendingPathComponent("openapi.json"))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods = ["get", "put", "post", "delete", "patch", "head", "options"]
        let described = Set(
            paths.flatMap { path, operations in
                operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(normalise(path))" }
            })
        #expect(served.subtracting(described).sorted() == [], "served but not described")
        #expect(described.subtracting(served).sorted() == [], "described but not served")
        #expect(served.count > 20)
    }

    /// `/v1/partners/{partner_id}` and `/v1/partners/{id}` compare equal; leading slash added.
    func normalise(_ path: String) -> String {
        let trimmed = path.hasPrefix("/") ? path : "/" + path
        return trimmed.replacingOccurrences(of: #"\{[^}]+\}"#, with: "{}", options: .regularExpression)
            .replacingOccurrences(of: #"/:[^/]+"#, with: "/{}", options: .regularExpression)
            // A catch-all (`log/tile/**`) is one path parameter in the document.
            .replacingOccurrences(of: "/**", with: "/{}")
    }
}
