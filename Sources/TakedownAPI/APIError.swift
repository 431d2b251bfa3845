import Foundation
import HTTPTypes
import TakedownModel

/// An HTTP-level refusal made by the API layer itself (auth, parameters, bodies).
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var type: String
    var title: String
    var detail: String
    var invalidParams: [FieldError] = []
    /// Headers the answer carries besides the problem document (Retry-After, RateLimit-*).
    var headers: HTTPFields = [:]

    static let unauthorized = APIError(
        status: .unauthorized, type: "unauthorized", title: "Authentication required",
        detail: "send a valid token as `Authorization: Bearer …`")

    static func forbidden(_ detail: String) -> APIError {
        APIError(status: .forbidden, type: "forbidden", title: "Not allowed", detail: detail)
    }

    static func notFound(_ detail: String) -> APIError {
        APIError(status: .notFound, type: "not-found", title: "Not found", detail: detail)
    }

    static func badRequest(_ detail: String, fields: [FieldError] = []) -> APIError {
        APIError(status: .badRequest, type: "bad-request", title: "Bad request", detail: detail, invalidParams: fields)
    }

    static func badParameter(_ name: String, _ reason: String) -> APIError {
        badRequest("query parameter \(name) \(reason)", fields: [FieldError(name: name, reason: reason)])
    }

    static func notAcceptable(_ detail: String) -> APIError {
        APIError(status: .notAcceptable, type: "not-acceptable", title: "Not acceptable", detail: detail)
    }

    /// 429, with when to come back and the caller's limit.
    static func tooManyRequests(_ detail: String, retryAfter: Int, headers: HTTPFields = [:]) -> APIError {
        var fields = headers
        fields[.retryAfter] = String(max(1, retryAfter))
        return APIError(
            status: .tooManyRequests, type: "rate-limited", title: "Too many requests", detail: detail,
            headers: fields)
    }
}
