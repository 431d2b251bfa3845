import Crypto
import Foundation
import Logging
import Synchronization
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

/// The gateway core: the store, the signing keys, the clock and the settings that every use case shares.
/// The use cases themselves are one per resource (`caseDesk`, `noticeDesk`, `hashListDesk`, … in
/// UseCases.swift); each controller is handed only the ones it serves.
public final class Gateway: Sendable {
    public let store: any GatewayStore
    public let configuration: GatewayConfiguration
    public let templates: NoticeTemplates
    let composer: NoticeComposer
    let keys: Mutex<KeyRing>
    /// The log's key and name, once read from the store (`logIdentity()`).
    let log = Mutex<LogIdentity?>(nil)
    /// What went wrong when the keys were last read again from the store; nil when it went well.
    let keyRefreshProblem = Mutex<String?>(nil)
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

    /// Public keys for `/.well-known/jwks.json`: the active key and those retired within
    /// `configuration.retiredKeyPublication`.
    public var jwks: JWKSet {
        let cutoff = clock().addingTimeInterval(-configuration.retiredKeyPublication)
        return keys.withLock { $0.jwks(retiredSince: cutoff) }
    }

    /// Whether a signing key is loaded.
    public var hasSigningKey: Bool { keys.withLock { $0.active != nil } }

    /// Why this instance is not fit to sign, for `/readyz`: no active key, or the keys could not be read
    /// again from the store (then it signs with the keys it read last, and says so). Nil when all is well.
    public var signingKeyProblem: String? {
        guard hasSigningKey else { return "no active signing key" }
        return keyRefreshProblem.withLock { $0 }
    }

    /// Reads the keys from the store again: every instance does so every few seconds, so a rotation made on
    /// any of them (or by `takedown keys rotate`) takes effect on all without a restart. Keys that cannot be
    /// read, or a store without an active key, leave the keys read last in place and the problem on `/readyz`.
    public func refreshKeys() async throws {
        do {
            let ring = try await SigningKeys.load(store)
            guard ring.active != nil else { throw SigningKeys.Problem.noActiveKey }
            keys.withLock { $0 = ring }
            keyRefreshProblem.withLock { $0 = nil }
        } catch {
            keyRefreshProblem.withLock { $0 = "the signing keys could not be read again: \(error)" }
            throw error
        }
    }

    /// Rotates the signing key in the store and signs with the new one at once.
    @discardableResult
    public func rotateKey() async throws -> String {
        let key = try await SigningKeys.rotate(store, at: clock())
        try await refreshKeys()
        return key.kid
    }

    /// The gateway's current time (its injected clock).
    public func now() -> Date { clock() }

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
