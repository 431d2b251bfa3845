import Foundation

/// A notice signing key as the store keeps it: the private half is sealed with the key-encryption key
/// (`SecretSealing`) before it is written and opened when read, like webhook secrets.
public struct StoredSigningKey: Sendable, Equatable {
    public var kid: String
    public var createdAt: Date
    public var retiredAt: Date?
    /// The Ed25519 private key, base64url of its 32 raw bytes, in the clear: only the database holds it sealed.
    public var privateKey: String

    public init(kid: String, createdAt: Date, retiredAt: Date?, privateKey: String) {
        self.kid = kid
        self.createdAt = createdAt
        self.retiredAt = retiredAt
        self.privateKey = privateKey
    }
}

/// The signing keys every instance shares. At most one key is active (not retired) at a time, which the
/// schema enforces, so instances creating a first key or rotating at the same moment end with one.
public protocol SigningKeyStore: Sendable {
    /// Every key, oldest first.
    func signingKeys() async throws -> [StoredSigningKey]
    /// Adds `key` in one transaction, first retiring the active key at `retiringActiveAt` when given.
    /// Throws `conflict` when the key id exists, or when `key` is active and another active key remains
    /// (another instance created or rotated first).
    func addSigningKey(_ key: StoredSigningKey, retiringActiveAt: Date?) async throws
}
