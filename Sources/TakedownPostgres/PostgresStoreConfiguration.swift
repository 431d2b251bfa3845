import Foundation
import PostgresNIO
import TakedownStore

/// Where the database is, how many connections the pool may open and how they are secured, read from a
/// `postgres://` URL.
public struct PostgresStoreConfiguration: Sendable {
    /// The pool size when neither the URL (`?pool_size=`) nor the caller names one.
    public static let defaultPoolSize = 10

    /// How connections are secured, named as libpq names them. The modes that fall back to plain text
    /// without saying so (`allow`, `prefer`) are refused.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP (the default, as before `sslmode` was read).
        case disable
        /// TLS, or no connection; the server's certificate is not checked.
        case require
        /// TLS with the server's certificate checked against the trust roots (`sslrootcert`, else the
        /// system's) and its name against the host.
        case verifyFull = "verify-full"
    }

    public var client: PostgresClient.Configuration
    public var poolSize: Int
    public var sslMode: SSLMode
    /// The TLS settings of the connections; nil with `disable`.
    public var tls: TLSConfiguration?

    /// Reads `postgres://user[:password]@host[:port]/database[?pool_size=N&sslmode=M&sslrootcert=FILE]`
    /// (`postgresql://` too; `user` and `password` may also be query parameters, as libpq allows).
    /// `poolSize` (from `TAKEDOWN_DATABASE_POOL_SIZE`) wins over the URL's. Errors never quote the URL.
    public init(url: String, poolSize: Int? = nil) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else { throw StoreError.unavailable("not a postgres:// URL") }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        // A bad %-escape would silently drop the credential and fail later as an authentication error.
        for (part, value) in [("user name", components.user), ("password", components.password)] {
            if let value, value.removingPercentEncoding == nil {
                throw StoreError.unavailable("the \(part) in the URL has an invalid %-escape; percent-encode it")
            }
        }
        let mode = try Self.sslMode(query["sslmode"])
        let tls = try Self.tls(mode, rootCertificate: query["sslrootcert"])
        let transport: PostgresClient.Configuration.TLS = tls.map { .require($0) } ?? .disable
        var client = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? query["user"] ?? "postgres",
            password: components.password?.removingPercentEncoding ?? query["password"],
            database: database.isEmpty ? nil : database.removingPercentEncoding,
            tls: transport)
        let size = poolSize ?? query["pool_size"].flatMap(Int.init) ?? Self.defaultPoolSize
        guard size >= 1 else { throw StoreError.unavailable("pool size must be at least 1") }
        // One more than asked for: the outbox listener holds a connection for as long as it runs.
        client.options.maximumConnections = size + 1
        self.client = client
        self.poolSize = size
        self.sslMode = mode
        self.tls = tls
    }

    static func sslMode(_ value: String?) throws -> SSLMode {
        guard let value else { return .disable }
        if let mode = SSLMode(rawValue: value) { return mode }
        let known = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
        switch value {
        case "allow", "prefer":
            throw StoreError.unavailable(
                "sslmode=\(value) is not supported: it falls back to plain text without saying so; use one of \(known)")
        case "verify-ca":
            throw StoreError.unavailable(
                "sslmode=verify-ca is not supported: it does not check the server's name; use verify-full")
        default:
            throw StoreError.unavailable("unsupported sslmode \(String(value.prefix(40))); use one of \(known)")
        }
    }

    static func tls(_ mode: SSLMode, rootCertificate: String?) throws -> TLSConfiguration? {
        switch mode {
        case .disable:
            return nil
        case .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        case .verifyFull:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if let rootCertificate, rootCertificate != "system" {
                guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                    throw StoreError.unavailable("sslrootcert \(rootCertificate) cannot be read")
                }
                tls.trustRoots = .file(rootCertificate)
            }
            return tls
        }
    }
}
