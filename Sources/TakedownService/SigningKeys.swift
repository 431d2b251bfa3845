import Foundation
import TakedownSigning
import TakedownStore

/// The notice signing keys in the store, shared by every instance: the first key, rotation, and the move
/// of an older gateway's key folder into the store.
public enum SigningKeys {
    public enum Problem: Error, CustomStringConvertible {
        case noActiveKey

        public var description: String { "the store holds no active signing key" }
    }

    /// Every stored key.
    public static func load(_ store: any GatewayStore) async throws -> KeyRing {
        KeyRing(
            keys: try await store.signingKeys().map { stored in
                try SigningKey(
                    kid: stored.kid, createdAt: stored.createdAt, retiredAt: stored.retiredAt,
                    exportedPrivateKey: stored.privateKey)
            })
    }

    /// The stored keys, with a first key made when none is active. Instances starting together end with one
    /// key: the store takes one active key only, and the others read it.
    public static func ensure(_ store: any GatewayStore, at now: Date) async throws -> KeyRing {
        let ring = try await load(store)
        if ring.active != nil { return ring }
        do {
            try await store.addSigningKey(stored(SigningKey.generate(at: now)), retiringActiveAt: nil)
        } catch StoreError.conflict {
            // Another instance made the first key a moment ago.
        }
        return try await load(store)
    }

    /// Makes a new active key and retires the one before, which stays published. Every instance signs with
    /// the new key once it reads the keys again.
    @discardableResult
    public static func rotate(_ store: any GatewayStore, at now: Date) async throws -> SigningKey {
        let key = SigningKey.generate(at: now)
        try await store.addSigningKey(stored(key), retiringActiveAt: now)
        return key
    }

    /// What an import did with each key of a folder.
    public enum Imported: Equatable, Sendable {
        /// Stored as it was in the folder.
        case stored(kid: String)
        /// Stored retired: the store had an active key already, which keeps signing.
        case storedRetired(kid: String)
        /// The store holds this key already.
        case present(kid: String)
    }

    /// Moves the keys of an older gateway's key folder into the store, oldest first. Safe to run again:
    /// keys the store holds are left alone. The folder's files are left in place for the operator to remove.
    public static func importFolder(_ folder: KeyFolder, into store: any GatewayStore, at now: Date) async throws
        -> [Imported]
    {
        let existing = try await store.signingKeys()
        var present = Set(existing.map(\.kid))
        var hasActive = existing.contains { $0.retiredAt == nil }
        var result: [Imported] = []
        for key in folder.keys {
            guard !present.contains(key.kid) else {
                result.append(.present(kid: key.kid))
                continue
            }
            var copy = key
            if key.retiredAt == nil, hasActive { copy.retiredAt = now }
            try await store.addSigningKey(stored(copy), retiringActiveAt: nil)
            present.insert(key.kid)
            if copy.retiredAt == nil { hasActive = true }
            result.append(copy.retiredAt == key.retiredAt ? .stored(kid: key.kid) : .storedRetired(kid: key.kid))
        }
        return result
    }

    static func stored(_ key: SigningKey) -> StoredSigningKey {
        StoredSigningKey(
            kid: key.kid, createdAt: key.createdAt, retiredAt: key.retiredAt, privateKey: key.exportedPrivateKey)
    }
}
