import Crypto
import Foundation
import TakedownModel

/// Seals short secrets (webhook signing secrets) with AES-256-GCM under one key kept in the key folder
/// (`secrets.key`, owner-only), so a copy of the database alone does not reveal them.
///
/// A sealed value reads `aesgcm1:` followed by the base64url of nonce, ciphertext and tag. The key never
/// prints.
public struct SecretBox: Sendable, CustomStringConvertible {
    /// The key file's name in the key folder; it does not end in `.key.json`, so `KeyRing` leaves it alone.
    public static let fileName = "secrets.key"
    static let prefix = "aesgcm1:"

    private let key: SymmetricKey
    /// Where the key was read from, for messages.
    public let path: String

    public init(key: SymmetricKey, path: String = "<memory>") {
        self.key = key
        self.path = path
    }

    /// Loads the key in `directory`, creating it (mode 0600) on first start. Refuses a key file that group or
    /// others may read.
    public static func load(directory: URL) throws -> SecretBox {
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let url = directory.appendingPathComponent(fileName)
        if !FileManager.default.fileExists(atPath: url.path) {
            let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            try KeyFile.createExclusively(Data((fresh.base64EncodedString() + "\n").utf8), at: url)
        }
        return try load(file: url.path)
    }

    /// Loads the key from a file of its own (`TAKEDOWN_SECRETS_KEY_FILE`): base64 of 32 bytes, owner-only.
    public static func load(file path: String) throws -> SecretBox {
        try KeyFile.checkOwnerOnly(path)
        return try SecretBox(
            encoded: String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self), origin: path)
    }

    /// The key given as base64 of 32 bytes (`TAKEDOWN_SECRETS_KEY`); `origin` names where it came from.
    public init(encoded text: String, origin: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: trimmed), raw.count == 32 else { throw SecretBoxError.badKeyFile(origin) }
        self.init(key: SymmetricKey(data: raw), path: origin)
    }

    public func seal(_ secret: String) throws -> String {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.cannotSeal }
        return Self.prefix + Base64URL.encode(combined)
    }

    /// The secret in a sealed value; a value without the prefix is returned as it is (stored in the clear
    /// before sealing existed).
    public func open(_ stored: String) throws -> String {
        guard stored.hasPrefix(Self.prefix) else { return stored }
        guard let combined = Base64URL.decode(String(stored.dropFirst(Self.prefix.count))) else {
            throw SecretBoxError.cannotOpen
        }
        do {
            let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key)
            guard let text = String(data: plain, encoding: .utf8) else { throw SecretBoxError.cannotOpen }
            return text
        } catch is CryptoKitError {
            throw SecretBoxError.cannotOpen
        }
    }

    /// Whether a stored value is in the clear.
    public func needsSealing(_ stored: String) -> Bool {
        !stored.hasPrefix(Self.prefix)
    }

    public var description: String { "the secret key \(path)" }
}

public enum SecretBoxError: Error, CustomStringConvertible, Equatable {
    case badKeyFile(String)
    case cannotSeal
    case cannotOpen

    public var description: String {
        switch self {
        case .badKeyFile(let path): return "\(path) does not hold a 256-bit key in base64"
        case .cannotSeal: return "sealing failed"
        case .cannotOpen: return "the sealed value does not open with this key"
        }
    }
}
