import Crypto
import Foundation
import TakedownModel

/// The notice signing keys a gateway holds: the newest unretired key signs; retired keys stay published
/// so old notices still verify. The store keeps them (`SigningKeyStore`); every instance reads the same set.
public struct KeyRing: Sendable {
    /// Oldest first.
    public let keys: [SigningKey]

    public init(keys: [SigningKey]) {
        self.keys = keys.sorted { ($0.createdAt, $0.kid) < ($1.createdAt, $1.kid) }
    }

    /// The key that signs new documents.
    public var active: SigningKey? { keys.last { $0.retiredAt == nil } }

    /// The public keys to publish: the active one and those retired at `cutoff` or later.
    public func jwks(retiredSince cutoff: Date) -> JWKSet {
        JWKSet(keys: keys.filter { ($0.retiredAt ?? .distantFuture) >= cutoff }.map(\.publicJWK))
    }
}

/// The notice signing keys as earlier versions kept them: a folder, one owner-only file per key. Read by
/// `takedown keys import`, which moves them into the store.
public struct KeyFolder: Sendable {
    public let directory: URL
    public private(set) var keys: [SigningKey]

    /// Loads every key in `directory`, creating the folder (mode 0700) when missing. Refuses a key file
    /// that group or others may read (`KeyFileError`).
    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".key.json") }
        keys = try files.map { file in
            let url = directory.appendingPathComponent(file)
            try KeyFile.checkOwnerOnly(url.path)
            let stored = try JSONDecoder().decode(StoredKey.self, from: Data(contentsOf: url))
            return try stored.signingKey()
        }.sorted { $0.createdAt < $1.createdAt }
    }

    /// The key that signs new documents.
    public var active: SigningKey? { keys.last { $0.retiredAt == nil } }

    /// Whether the active key's file is still in the key folder: a folder moved or deleted under a running
    /// gateway would leave the next start to make a new key, and old notices unverifiable.
    public var activeKeyFileIsPresent: Bool {
        guard let active else { return false }
        return FileManager.default.isReadableFile(
            atPath: directory.appendingPathComponent("\(active.kid).key.json").path)
    }

    /// Every public key, retired ones included.
    public var jwks: JWKSet { JWKSet(keys: keys.map(\.publicJWK)) }

    /// Creates the first key when there is none; returns the active key. Processes sharing the folder and
    /// starting together end with one key: the first creates it under the folder's lock, the others read it.
    @discardableResult
    public mutating func ensureKey(at now: Date) throws -> SigningKey {
        if let active { return active }
        return try KeyFile.withLock(in: directory) {
            self = try KeyFolder(directory: directory)
            if let active { return active }
            return try rotate(at: now)
        }
    }

    /// Makes a new active key and retires the others, which stay published.
    @discardableResult
    public mutating func rotate(at now: Date) throws -> SigningKey {
        for index in keys.indices where keys[index].retiredAt == nil {
            keys[index].retiredAt = now
            try save(keys[index])
        }
        let key = SigningKey.generate(at: now)
        try save(key)
        keys.append(key)
        return key
    }

    private func save(_ key: SigningKey) throws {
        let url = directory.appendingPathComponent("\(key.kid).key.json")
        let data = try JSONEncoder().encode(StoredKey(key))
        // Write to a temporary owner-only file and rename, so a crash never leaves half a key.
        let temporary = directory.appendingPathComponent(".\(key.kid).tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown) }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: temporary, to: url)
    }
}

/// A key as written to disk.
private struct StoredKey: Codable {
    var kid: String
    var createdAt: Date
    var retiredAt: Date?
    var privateKey: String

    init(_ key: SigningKey) {
        kid = key.kid
        createdAt = key.createdAt
        retiredAt = key.retiredAt
        privateKey = Base64URL.encode(key.privateKey.rawRepresentation)
    }

    func signingKey() throws -> SigningKey {
        guard let raw = Base64URL.decode(privateKey) else { throw CocoaError(.fileReadCorruptFile) }
        return SigningKey(
            kid: kid, createdAt: createdAt, retiredAt: retiredAt,
            privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
    }
}
