import Crypto
import Foundation
import Logging
import Synchronization
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

/// The gateway's use cases: partners, tokens, cases and notices, over any store.
public final class Gateway: Sendable {
    public let store: any GatewayStore
    public let configuration: GatewayConfiguration
    public let templates: NoticeTemplates
    let composer: NoticeComposer
    let keys: Mutex<KeyRing>
    let routing = Mutex<RoutingSnapshot?>(nil)
    /// Where the next round of referral status updates starts.
    let referralReportCursor = Mutex<Int64>(0)
    let clock: @Sendable () -> Date
    /// When this gateway was built: the `created_at` of the default SLA policy it loaded from the settings.
    let startedAt: Date
    let logger: Logger
    /// Called after deliveries were written, to wake the outbox worker.
    let onEnqueue: @Sendable () -> Void

    public init(
        store: any GatewayStore, keys: KeyRing, templates: NoticeTemplates, configuration: GatewayConfiguration,
        clock: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "takedown.gateway"),
        onEnqueue: @escaping @Sendable () -> Void = {}
    ) {
        self.onEnqueue = onEnqueue
        self.store = store
        self.keys = Mutex(keys)
        self.templates = templates
        self.configuration = configuration
        self.composer = NoticeComposer(
            issuer: configuration.issuer, publicURL: configuration.publicURL, templates: templates)
        self.clock = clock
        self.startedAt = clock()
        self.logger = logger
    }

    /// Public keys for `/.well-known/jwks.json`, retired ones included.
    public var jwks: JWKSet { keys.withLock { $0.jwks } }

    /// Whether a signing key is loaded.
    /// A signing key is loaded and its file is still where it was read from.
    public var hasSigningKey: Bool { keys.withLock { $0.active != nil && $0.activeKeyFileIsPresent } }

    /// Reads the key folder again, after `takedown keys rotate` ran beside a live server.
    public func reloadKeys() throws {
        let directory = keys.withLock { $0.directory }
        let reloaded = try KeyRing(directory: directory)
        keys.withLock { $0 = reloaded }
    }

    /// Rotates the signing key in place (tests and the admin API use this; the CLI works on the folder).
    @discardableResult
    public func rotateKey() throws -> String {
        let now = clock()
        return try keys.withLock { try $0.rotate(at: now).kid }
    }

    func sign(_ payload: Data) throws -> String {
        guard let key = keys.withLock({ $0.active }) else {
            throw GatewayError.conflict("no signing key is loaded; run `takedown keys create`")
        }
        return try JWS.sign(payload: payload, with: key)
    }
}

/// SHA-256 in lower-case hex, for token secrets and request bodies.
public func sha256Hex<D: DataProtocol>(_ data: D) -> String {
    Hex.encode(SHA256.hash(data: data))
}
