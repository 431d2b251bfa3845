import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The console under a full board: 10,000 open notices for one provider, then the analyst's dashboard and
/// that provider's inbox loaded again and again (each page a whole HTML answer, session checked), and the
/// routing preview of a pasted batch of 1,000 URLs.
enum ConsoleBench {
    static let openNotices = 10_000
    static let loads = 200
    static let previews = 20
    static let batchLines = 1_000

    static func run(_ options: BenchOptions) async throws {
        print("Console: \(openNotices) open notices for one provider")
        var seeding = options
        seeding.cases = openNotices
        seeding.partners = 1
        let server = try await GatewayProcess.start(options: seeding)
        defer { server.stop() }
        let load = try await IssuanceLoad(server: server, options: seeding)
        let seeded = try await load.submitCases()
        print(String(format: "  (seeded at %.0f notices/s)", seeded.perSecond))
        try await BenchClient.with(server.baseURL, connections: 4, followRedirects: false) { client in
            let analyst = try await signIn(client, token: server.adminToken)
            let provider = try await signIn(client, token: load.partnerTokens[0])
            let dashboard = try await repeated(loads) {
                try await page(client, "GET", "/console/dashboard", session: analyst)
            }
            report("analyst dashboard (first page of \(openNotices) open)", dashboard)
            let inbox = try await repeated(loads) {
                try await page(client, "GET", "/console/inbox", session: provider)
            }
            report("provider inbox (first page of \(openNotices))", inbox)
            let deep = try await repeated(loads / 4) {
                try await page(client, "GET", "/console/dashboard?page=150", session: analyst)
            }
            report("analyst dashboard, page 150 (offset 7,450)", deep)

            let lines = (0..<batchLines).map { index in
                let host = index % 10 == 9 ? "unknown-\(index).test" : "cdn.p0.test"
                return "https://\(host)/\(UUID().uuidString).jpg md5:\(IssuanceLoad.hex(16))"
            }
            let form = [
                ("reference", "BENCH-PREVIEW"), ("grade", "A"), ("media_type", "image"),
                ("batch", lines.joined(separator: "\n")), ("csrf", analyst.csrf),
            ]
            let body = form.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
            let preview = try await repeated(previews) {
                try await page(client, "POST", "/console/cases/preview", session: analyst, form: body)
            }
            report("routing preview of a \(batchLines)-line batch", preview)
        }
        print("")
    }

    struct Session {
        var cookie: String
        var csrf: String
    }

    static func report(_ label: String, _ samples: Samples) {
        let padded = label.padding(toLength: 48, withPad: " ", startingAt: 0)
        print(
            String(
                format: "  %@ p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms", padded, samples.percentile(50),
                samples.percentile(99), samples.percentile(100)))
    }

    static func repeated(_ count: Int, _ body: () async throws -> Void) async throws -> Samples {
        try await body()  // warm-up, not counted
        var samples = Samples()
        for _ in 0..<count {
            let began = ContinuousClock.now
            try await body()
            samples.add((ContinuousClock.now - began).seconds)
        }
        return samples
    }

    /// Signs in through the form, as a browser does: the sign-in page's CSRF cookie, then the token.
    static func signIn(_ client: BenchClient, token: String) async throws -> Session {
        let form = try await client.client.execute(
            HTTPClientRequest(url: client.baseURL + "/console/sign-in"), timeout: .seconds(30))
        let formBody = String(buffer: try await form.body.collect(upTo: 1 << 20))
        guard let signInCookie = cookie(form.headers, "takedown_sign_in"), let csrf = csrf(in: formBody) else {
            throw BenchError("the sign-in form carried no CSRF token")
        }
        var request = HTTPClientRequest(url: client.baseURL + "/console/sign-in")
        request.method = .POST
        request.headers.add(name: "Cookie", value: "takedown_sign_in=\(signInCookie)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "token=\(escape(token))&csrf=\(escape(csrf))"))
        let answer = try await client.client.execute(request, timeout: .seconds(30))
        _ = try await answer.body.collect(upTo: 1 << 20)
        guard answer.status.code == 303, let session = cookie(answer.headers, "takedown_session") else {
            throw BenchError("console sign-in answered \(answer.status.code)")
        }
        let home = try await pageText(client, "GET", "/console", session: Session(cookie: session, csrf: ""))
        guard let token = self.csrf(in: home) else { throw BenchError("the console's first page had no CSRF token") }
        return Session(cookie: session, csrf: token)
    }

    static func page(
        _ client: BenchClient, _ method: String, _ path: String, session: Session, form: String? = nil
    ) async throws {
        _ = try await pageText(client, method, path, session: session, form: form)
    }

    /// A page's HTML, following one redirect; anything but 200 is an error.
    static func pageText(
        _ client: BenchClient, _ method: String, _ path: String, session: Session, form: String? = nil
    ) async throws -> String {
        var request = HTTPClientRequest(url: client.baseURL + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Cookie", value: "takedown_session=\(session.cookie)")
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let answer = try await client.client.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await answer.body.collect(upTo: 64 << 20))
        if answer.status.code == 303, let location = answer.headers.first(name: "Location") {
            return try await pageText(client, "GET", location, session: session)
        }
        guard answer.status.code == 200 else { throw BenchError("\(method) \(path) answered \(answer.status.code)") }
        return body
    }

    static func cookie(_ headers: HTTPHeaders, _ name: String) -> String? {
        for header in headers[canonicalForm: "Set-Cookie"] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return String(pair[1]) }
        }
        return nil
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
