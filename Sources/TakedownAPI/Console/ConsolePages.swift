import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import TakedownDocuments
import TakedownModel
import TakedownService

/// The console's templates (`Templates/console/`), its stylesheet and script, and how a page is answered.
public struct ConsolePages: Sendable {
    let library: MustacheLibrary
    let assets: [String: (body: String, type: String, etag: String)]
    /// Cookies carry `Secure` when the gateway's public URL is https.
    let secureCookies: Bool

    static let sessionCookie = "takedown_session"
    static let signInCookie = "takedown_sign_in"

    /// Templates and assets by file name (`layout.mustache`, `console.css`, …); throws naming a template that
    /// does not parse.
    public init(files: [String: String], publicURL: URL?) throws {
        var library = MustacheLibrary()
        var assets: [String: (String, String, String)] = [:]
        for (name, text) in files {
            if name.hasSuffix(".mustache") {
                do {
                    try library.register(text, named: String(name.dropLast(".mustache".count)))
                } catch {
                    throw TemplateError.unreadable("console/\(name): \(error)")
                }
            } else if name.hasSuffix(".css") || name.hasSuffix(".js") || name.hasSuffix(".svg") {
                let type =
                    name.hasSuffix(".css")
                    ? "text/css; charset=utf-8"
                    : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "image/svg+xml"
                assets[name] = (text, type, "\"\(sha256Hex(Data(text.utf8)).prefix(32))\"")
            }
        }
        self.library = library
        self.assets = assets
        self.secureCookies = publicURL?.scheme?.lowercased() == "https"
    }

    /// What every page's frame shows: who is signed in, what they may open, and the sign-out form's token.
    struct Chrome {
        struct Link {
            var href: String
            var label: String
            var current: Bool
        }
        var title: String
        var signedIn: Bool
        var who: String
        var links: [Link]
        var csrf: String
        var flash: String?
    }

    /// A page rendered in the frame, `200` unless told.
    func page(
        _ template: String, title: String, _ content: Any, context: GatewayRequestContext, flash: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let chrome = try chrome(title: title, context: context, flash: flash)
        return html(render(template, ["chrome": chrome, "page": content]), status: status)
    }

    func render(_ template: String, _ object: Any) -> String {
        library.render(object, withTemplate: template) ?? ""
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func chrome(title: String, context: GatewayRequestContext, flash: String?) throws -> Chrome {
        guard let principal = context.principal, let session = context.consoleSession else {
            return Chrome(title: title, signedIn: false, who: "", links: [], csrf: "", flash: flash)
        }
        let path = context.endpointPath ?? ""
        func link(_ href: String, _ label: String) -> Chrome.Link {
            Chrome.Link(href: href, label: label, current: path.hasPrefix(href))
        }
        let links: [Chrome.Link]
        switch principal {
        case .admin, .analyst:
            links = [
                link("/console/dashboard", "Dashboard"), link("/console/cases/new", "New case"),
                link("/console/partners", "Partners"), link("/console/lists", "Hash lists"),
            ]
        case .partner:
            links = [
                link("/console/inbox", "Notices"), link("/console/scorecard", "Scorecard"),
                link("/console/lists", "Lists"), link("/console/settings", "Settings"),
            ]
        }
        return Chrome(
            title: title, signedIn: true, who: principal.actor, links: links, csrf: session.csrfToken,
            flash: flash)
    }

    /// An error as a page: the status and a sentence of what went wrong. Signed-out visitors asking for a
    /// page are sent to sign in instead.
    func error(_ error: any Error, path: String, signedIn: Bool, _ context: GatewayRequestContext) -> Response {
        let problem = Problem(for: error, logger: context.logger)
        if problem.status == 401 {
            return Self.redirect("/console/sign-in")
        }
        let status = HTTPResponse.Status(code: problem.status)
        let content: [String: Any] = [
            "status": problem.status, "title": problem.title, "detail": problem.detail,
            "fields": (problem.invalidParams ?? []).map { ["name": $0.name, "reason": $0.reason] },
            "signed_in": signedIn,
        ]
        let chrome =
            (try? chrome(title: problem.title, context: context, flash: nil))
            ?? Chrome(title: problem.title, signedIn: false, who: "", links: [], csrf: "", flash: nil)
        var response = html(render("error", ["chrome": chrome, "page": content]), status: status)
        if let retry = (error as? APIError)?.headers[.retryAfter] { response.headers[.retryAfter] = retry }
        return response
    }

    /// A static asset of the console, or nil.
    func asset(_ name: String, ifNoneMatch: String?) -> Response? {
        guard let asset = assets[name] else { return nil }
        var headers: HTTPFields = [.eTag: asset.etag, .cacheControl: "no-cache"]
        if ifNoneMatch == asset.etag { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = asset.type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: asset.body)))
    }

    /// 303 to a path of the console.
    static func redirect(_ path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path, .cacheControl: "no-store"])
    }

    func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: name, value: value, maxAge: maxAge, path: "/console", secure: secureCookies, httpOnly: true,
            sameSite: .strict)
    }

    /// The headers of every console answer: no script but our own, no framing, no sniffing, no referrer.
    static func secure(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
        headers[.crossOriginOpenerPolicy] = "same-origin"
    }

    /// Form fields as a urlencoded body.
    static func encode(_ fields: [(name: String, value: String)]) -> String {
        fields.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let crossOriginOpenerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!
}

/// A template's values without the absent ones: an optional inside `Any` would count as present.
func present(_ values: [String: Any?]) -> [String: Any] {
    values.compactMapValues { $0 }
}
