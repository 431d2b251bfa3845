import Foundation
import Hummingbird
import Logging
import TakedownAPI
import TakedownDocuments
import TakedownSQLite
import TakedownService
import TakedownSigning
import TakedownStore

/// The composition root: builds the store, keys, templates, gateway and HTTP application from settings.
/// The command line, the tests and the benchmark all build through here.
public enum GatewayComposition {
    /// Opens the store the settings name and brings its schema up to date.
    public static func store(_ settings: ServerSettings) async throws -> any GatewayStore {
        if let url = settings.databaseURL {
            throw SettingsError(
                "TAKEDOWN_DATABASE_URL is set (\(redacted(url))) but this build has no PostgreSQL store yet; unset it to use SQLite")
        }
        try FileManager.default.createDirectory(
            atPath: settings.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try SQLiteStore(path: settings.databasePath)
        try await store.migrate()
        return store
    }

    /// The signing keys under the data folder, with a first key created when there is none.
    public static func keys(_ settings: ServerSettings, now: Date = Date()) throws -> KeyRing {
        var ring = try KeyRing(directory: settings.keysDirectory)
        try ring.ensureKey(at: now)
        return ring
    }

    public static func gateway(
        _ settings: ServerSettings, store: any GatewayStore, clock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger
    ) async throws -> Gateway {
        try settings.validate()
        let templates = try await NoticeTemplates(directory: URL(fileURLWithPath: settings.templatesDirectory))
        let configuration = GatewayConfiguration(
            publicURL: settings.resolvedPublicURL, issuer: settings.issuer,
            defaultDeadline: settings.defaultDeadlineHours * 3600)
        let gateway = Gateway(
            store: store, keys: try keys(settings, now: clock()), templates: templates, configuration: configuration,
            clock: clock, logger: logger)
        if let token = settings.bootstrapAdminToken { try await gateway.bootstrapAdmin(secret: token) }
        return gateway
    }

    public static func apiSettings(_ settings: ServerSettings) -> APISettings {
        APISettings(
            maxBodyBytes: settings.maxBodyBytes,
            openAPIDocument: URL(fileURLWithPath: settings.schemasDirectory).appendingPathComponent("openapi.json"))
    }

    /// The whole server, ready for `runService()`.
    public static func application(_ settings: ServerSettings, logger: Logger) async throws -> some ApplicationProtocol {
        let store = try await store(settings)
        let gateway = try await gateway(settings, store: store, logger: logger)
        return GatewayAPI.application(
            gateway: gateway, settings: apiSettings(settings), host: settings.host, port: settings.port, logger: logger)
    }

    /// A database URL with its password masked, for messages.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<database url>"
    }
}
