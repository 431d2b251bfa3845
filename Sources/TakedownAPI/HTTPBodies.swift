import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TakedownModel

/// Limits the API applies to every request.
public struct APISettings: Sendable {
    /// Request bodies larger than this get 413.
    public var maxBodyBytes: Int
    /// The OpenAPI document served at `/openapi.json` (nil: none, answered 404).
    public var openAPIDocument: Data?
    /// The Prometheus text served at `/metrics`.
    public var metrics: (@Sendable () async -> String)?
    /// The bearer token `/metrics` asks for on the API port; nil serves no metrics there.
    public var metricsToken: String?
    /// Requests per second per caller, by role.
    public var rateLimits = RateLimits()
    /// Buckets of `rateLimits`, one set per process.
    public var rateLimiter = RateLimiter()
    /// How long a request body may take to arrive in all; a client dripping it is answered 408.
    public var readTimeout: Duration = .seconds(30)
    /// Costly responses running at once, per caller and in all.
    public var heavyRequests = HeavyRequestLimiter()
    /// The console's pages; nil serves no console.
    public var console: ConsolePages?

    public init(
        maxBodyBytes: Int = 5 * 1024 * 1024, openAPIDocument: Data? = nil
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.openAPIDocument = openAPIDocument
    }
}

extension APISettings {
    /// A heavy-request slot for the caller, or 429 when it already runs as many as it may.
    func heavySlot(for principal: Principal) throws -> HeavyRequestLimiter.Slot {
        let caller = principal.partnerID.map { "partner:\($0)" } ?? "token:\(principal.tokenID)"
        guard let slot = heavyRequests.acquire(caller) else {
            throw APIError.tooManyRequests(
                "at most \(heavyRequests.perCaller) exports or renderings run at once for one caller", retryAfter: 1)
        }
        return slot
    }
}

/// Reading request bodies.
enum BodyReader {
    /// At most `limit` bytes of body, or 408 when they take longer than `timeout` to arrive (a client
    /// trickling its body would otherwise hold the request open for as long as it likes).
    static func collect(_ request: Request, limit: Int, timeout: Duration) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask {
                var request = request
                return try await request.collectBody(upTo: limit)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw APIError(
                    status: .requestTimeout, type: "request-timeout", title: "Request timeout",
                    detail: "the request body did not arrive in time", headers: [.connection: "close"])
            }
            defer { group.cancelAll() }
            guard let buffer = try await group.next() else { throw CancellationError() }
            return buffer
        }
    }
}

/// A decoded request body with its raw bytes (for idempotency hashes).
struct JSONBody<T: Decodable> {
    var value: T
    var bytes: ByteBuffer

    /// Reads at most `limit` bytes and decodes them; an empty body decodes as `{}` when `emptyAllowed`.
    static func read(
        _ request: Request, limit: Int, timeout: Duration = .seconds(30), emptyAllowed: Bool = false
    ) async throws -> JSONBody<T> {
        let buffer = try await BodyReader.collect(request, limit: limit, timeout: timeout)
        var data = Data(buffer: buffer)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard emptyAllowed else { throw APIError.badRequest("a JSON request body is required") }
            data = Data("{}".utf8)
        }
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw APIError(
                status: .unsupportedMediaType, type: "unsupported-media-type", title: "Unsupported media type",
                detail: "send the body as application/json")
        }
        do {
            return JSONBody(value: try WireFormat.decoder().decode(T.self, from: data), bytes: buffer)
        } catch let error as DecodingError {
            throw APIError.badRequest(Self.describe(error), fields: Self.fields(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "the body is not valid JSON"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type)), not null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)) \(context.debugDescription)"
        @unknown default:
            return "the body could not be read"
        }
    }

    static func fields(_ error: DecodingError) -> [FieldError] {
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return [FieldError(name: path(context.codingPath), reason: "must be \(describe(type))")]
        case .keyNotFound(let key, let context):
            return [FieldError(name: path(context.codingPath + [key]), reason: "is required")]
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return [FieldError(name: path(context.codingPath), reason: context.debugDescription)]
        default:
            return []
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is Date.Type: return "an RFC 3339 date-time string"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            return "an object"
        }
    }

    /// `items[2].hashes.md5` from a coding path, in the API's snake_case.
    static func path(_ keys: [any CodingKey]) -> String {
        var result = ""
        for key in keys {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                if !result.isEmpty { result += "." }
                result += snakeCase(key.stringValue)
            }
        }
        return result.isEmpty ? "body" : result
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

extension Response {
    /// A JSON response in the API's wire format.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireFormat.encoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A body in any media type.
    static func bytes(_ data: some Sequence<UInt8>, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Request {
    /// A query parameter parsed as a page size within bounds.
    func limit(default value: Int, max: Int) throws -> Int {
        guard let text = uri.queryParameters["limit"] else { return value }
        guard let limit = Int(String(text)), (1...max).contains(limit) else {
            throw APIError.badParameter("limit", "must be an integer between 1 and \(max)")
        }
        return limit
    }

    func query(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map(String.init)
    }

    /// A query parameter holding an RFC 3339 date-time, or 400.
    func date(_ name: String) throws -> Date? {
        guard let text = query(name) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw APIError.badParameter(name, "must be an RFC 3339 date-time")
        }
        return date
    }

    /// A page of a list kept in a stable order that only grows at its end (partners, policies, lists,
    /// versions, checks): `after` is the ordinal cursor of the last page, `limit` 1 to 1,000 (default 100).
    func page<T>(of items: [T]) throws -> (items: ArraySlice<T>, nextCursor: String) {
        let limit = try limit(default: 100, max: 1_000)
        let start = min(Int(clamping: max(0, try cursorPosition())), items.count)
        let end = min(start + limit, items.count)
        return (items[start..<end], Cursor.encode(Int64(end)))
    }

    /// The `after` cursor as a position (0 when absent), or 400.
    func cursorPosition() throws -> Int64 {
        guard let after = query("after") else { return 0 }
        guard let position = Cursor.decode(after) else {
            throw APIError.badParameter("after", "is not a cursor this gateway issued")
        }
        return position
    }
}

extension Parameters {
    /// A typed id from the path; a malformed one is simply not found.
    func id<ID: PrefixedIdentifier>(_ name: String, as type: ID.Type) throws -> ID {
        guard let text = get(name), let id = ID.parse(text) else {
            throw APIError.notFound("no \(name.replacingOccurrences(of: "_", with: " ")) with that id")
        }
        return id
    }
}
