import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import TakedownModel
import TakedownService

/// An RFC 9457 problem document.
struct Problem: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var instance: String?
    var requestId: String?
    var invalidParams: [FieldError]?

    static let typeBase = "https://takedown-gateway.example/problems/"

    /// The one place where errors become HTTP statuses.
    init(for error: any Error, logger: Logger) {
        if let refused = GatewayError(error) {
            self.init(refused, logger: logger)
            return
        }
        switch error {
        case let error as APIError:
            self.init(error.status, error.type, error.title, error.detail, error.invalidParams)
        case let error as any HTTPResponseError:
            let status = error.status
            let detail: String
            switch status {
            case .notFound: detail = "no such route; see /openapi.json"
            case .contentTooLarge: detail = "the request body is larger than this gateway accepts"
            default: detail = status.reasonPhrase
            }
            let phrase = status.reasonPhrase
            self.init(status, Self.slug(status), phrase.prefix(1) + phrase.dropFirst().lowercased(), detail)
        case let error as HTTPParserError:
            // The client's framing (a chunk size of `zz`, a body cut short): its fault, not ours.
            logger.info("malformed request", metadata: ["error": "\(error)"])
            self.init(.badRequest, "bad-request", "Bad request", "the request is not well-formed HTTP/1.1")
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            self.init(
                .internalServerError, "internal", "Internal error", "the gateway failed; the request id is logged")
        }
    }

    /// What a gateway operation refused (the store's errors and validation mapped by `GatewayError.init`).
    private init(_ error: GatewayError, logger: Logger) {
        switch error {
        case .notFound(let what):
            self.init(.notFound, "not-found", "Not found", "\(what) does not exist")
        case .forbidden(let detail):
            self.init(.forbidden, "forbidden", "Not allowed", detail)
        case .conflict(let detail):
            self.init(.conflict, "conflict", "Conflicts with the current state", detail)
        case .invalid(let validation):
            self.init(validation)
        case .idempotencyMismatch:
            self.init(
                .unprocessableContent, "idempotency-key-reused", "Idempotency key reused",
                "this Idempotency-Key was first used with a different request body")
        case .gone(let detail):
            self.init(.gone, "resync-required", "Gone: resynchronise", detail)
        case .badParameter(let name, let reason):
            self.init(
                .badRequest, "bad-request", "Bad request", "query parameter \(name) \(reason)",
                [FieldError(name: name, reason: reason)])
        case .signatureRefused(let detail):
            self.init(.unauthorized, "signature-refused", "Signature refused", detail)
        case .unavailable(let detail):
            logger.error("store unavailable", metadata: ["error": "\(detail)"])
            self.init(
                .serviceUnavailable, "unavailable", "Storage unavailable", "the store did not answer; retry later")
        }
    }

    /// 422 naming every field at fault.
    private init(_ validation: ValidationError) {
        self.init(
            .unprocessableContent, "validation", "The request has invalid fields",
            validation.errors.map { "\($0.name) \($0.reason)" }.joined(separator: "; "), validation.errors)
    }

    private init(
        _ status: HTTPResponse.Status, _ slug: String, _ title: String, _ detail: String, _ fields: [FieldError] = []
    ) {
        self.type = Self.typeBase + slug
        self.title = title
        self.status = status.code
        self.detail = detail
        self.invalidParams = fields.isEmpty ? nil : fields
    }

    static func slug(_ status: HTTPResponse.Status) -> String {
        status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "-")
    }

    func response(extraHeaders: HTTPFields = [:]) -> Response {
        let data = (try? WireFormat.encoder().encode(self)) ?? Data()
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
