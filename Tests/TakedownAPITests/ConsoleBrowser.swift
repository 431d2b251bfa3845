import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A browser as far as the console needs one: a cookie jar, forms sent urlencoded with the page's CSRF
/// token, and redirects left for the test to look at.
final class ConsoleBrowser: @unchecked Sendable {
    let api: API
    private(set) var cookies: [String: String] = [:]
    /// The CSRF token of the last page that carried one.
    private(set) var csrf: String?

    init(_ api: API) {
        self.api = api
    }

    @discardableResult
    func get(_ path: String) async throws -> Reply {
        try await send(.get, path, body: nil)
    }

    /// Posts a form; the page's CSRF token is added unless `csrf` says otherwise (nil: none at all).
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)] = [], csrf: String?? = .some(nil)) async throws -> Reply {
        var all = fields
        switch csrf {
        case .none: break
        case .some(.none): if let token = self.csrf { all.append(("csrf", token)) }
        case .some(.some(let given)): all.append(("csrf", given))
        }
        let body = all.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        return try await send(.post, path, body: body)
    }

    /// Sends a raw body as a form.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ path: String, body: String?) async throws -> Reply {
        var fields = HTTPFields()
        if !cookies.isEmpty {
            fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        }
        if body != nil { fields[.contentType] = "application/x-www-form-urlencoded" }
        let response = try await api.client.executeRequest(
            uri: path, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
        let reply = Reply(status: response.status, headers: response.headers, data: Data(buffer: response.body))
        for header in reply.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        if let token = Self.csrf(in: reply.text) { csrf = token }
        return reply
    }

    /// Signs in with a token; the reply is the redirect to the role's first page.
    @discardableResult
    func signIn(_ token: String) async throws -> Reply {
        try await get("/console/sign-in")
        let reply = try await post("/console/sign-in", [("token", token)])
        // Land on the first page, as a browser would, to pick up the session's CSRF token.
        if reply.status == .seeOther, let next = reply.headers[.location] { try await get(next) }
        return reply
    }

    /// Forgets the cookies, as a new browser would, keeping a session cookie given.
    func forget(keeping session: String? = nil) {
        cookies = session.map { ["takedown_session": $0] } ?? [:]
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
