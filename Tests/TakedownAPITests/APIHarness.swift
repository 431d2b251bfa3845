import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TakedownAPI
import TakedownServer
import TakedownTestSupport
import Testing

/// One HTTP answer, with its body parsed on demand.
struct Reply {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var data: Data

    var text: String { String(decoding: data, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
    subscript(key: String) -> Any? { json[key] }
    var contentType: String? { headers[.contentType] }

    /// The field names a validation problem lists.
    var invalidFields: [String] {
        (json["invalid_params"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    /// True when this is an RFC 9457 problem with the given status.
    func isProblem(_ expected: HTTPResponse.Status) -> Bool {
        status == expected && contentType == "application/problem+json" && json["status"] as? Int == expected.code
            && (json["type"] as? String)?.hasPrefix("https://") == true && json["title"] is String
            && json["detail"] is String
    }
}

/// The real router over a real SQLite store, driven through HummingbirdTesting.
struct API: Sendable {
    let client: any TestClientProtocol
    let test: TestGateway

    static let admin = TestGateway.adminSecret

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = API.admin, json: Any? = nil, raw: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Reply {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            fields[.contentType] = "application/json"
        } else if let raw {
            body = ByteBuffer(string: raw)
            fields[.contentType] = "application/json"
        }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let response = try await client.executeRequest(uri: path, method: method, headers: fields, body: body)
        return Reply(status: response.status, headers: response.headers, data: Data(buffer: response.body))
    }

    /// Runs `body` against a fresh gateway.
    static func run(
        configure: @escaping @Sendable (inout ServerSettings) -> Void = { _ in },
        _ body: @escaping @Sendable (API) async throws -> Void
    ) async throws {
        let test = try await TestGateway(configure: configure)
        defer { test.remove() }
        let router = GatewayAPI.router(
            gateway: test.gateway, settings: try GatewayComposition.apiSettings(test.settings, store: test.store))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await body(API(client: client, test: test))
        }
    }

    // MARK: Fixtures through the API itself

    struct CreatedPartner {
        var id: String
        var token: String
    }

    func partner(
        _ name: String = "Example Hosting", domains: [String] = ["example.com"], ranges: [String] = [],
        asns: [Int] = [], locale: String = "en", kind: String = "hosting_provider"
    ) async throws -> CreatedPartner {
        let reply = try await call(
            .post, "/v1/partners",
            json: [
                "name": name, "kind": kind, "contact_email": "abuse@hosting.test", "locale": locale,
                "jurisdiction": "GB", "routing": ["domains": domains, "ip_ranges": ranges, "asns": asns],
            ])
        #expect(reply.status == .created, "\(reply.text)")
        return CreatedPartner(id: reply["id"] as? String ?? "", token: reply["token"] as? String ?? "")
    }

    static func item(_ url: String, ip: String? = nil) -> [String: Any] {
        var item: [String: Any] = [
            "url": url, "observed_at": "2026-11-29T07:00:00Z",
            "hashes": ["md5": Synthetic.hex(32), "sha256": Synthetic.hex(64).uppercased()],
        ]
        if let ip { item["ip"] = ip }
        return item
    }

    static func caseBody(_ items: [[String: Any]], reference: String = "HL-\(Synthetic.hex(6))") -> [String: Any] {
        [
            "reference": reference, "category": ["uk_grade": "A", "classification": "A1"], "media_type": "image",
            "notes": "internal only", "items": items,
        ]
    }

    /// Submits a case and returns its answer.
    func submit(_ urls: [String], token: String = API.admin, headers: [String: String] = [:]) async throws -> Reply {
        try await call(
            .post, "/v1/cases", token: token, json: Self.caseBody(urls.map { Self.item($0) }), headers: headers)
    }

    /// The id of the first notice a case answer lists.
    static func firstNotice(_ reply: Reply) -> String {
        ((reply["notices"] as? [[String: Any]])?.first?["id"] as? String) ?? ""
    }
}
