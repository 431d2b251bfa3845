import Crypto
import Foundation
import TakedownModel

/// An Ed25519 signing key with its key id. Printing it never shows the private half.
public struct SigningKey: Sendable, CustomStringConvertible {
    public let kid: String
    public let createdAt: Date
    public var retiredAt: Date?
    let privateKey: Curve25519.Signing.PrivateKey

    public init(kid: String, createdAt: Date, retiredAt: Date? = nil, privateKey: Curve25519.Signing.PrivateKey) {
        self.kid = kid
        self.createdAt = createdAt
        self.retiredAt = retiredAt
        self.privateKey = privateKey
    }

    /// A new key whose id is the RFC 7638 thumbprint of its public half.
    public static func generate(at now: Date) -> SigningKey {
        let key = Curve25519.Signing.PrivateKey()
        return SigningKey(kid: PublicJWK(key.publicKey).thumbprint, createdAt: now, privateKey: key)
    }

    public var publicJWK: PublicJWK { PublicJWK(privateKey.publicKey, kid: kid) }

    /// The private key as the store keeps it (sealed there): base64url of its 32 raw bytes.
    public var exportedPrivateKey: String { Base64URL.encode(privateKey.rawRepresentation) }

    /// A key read back from the store. Refuses bytes that are not an Ed25519 key, and a key id that is not
    /// the key's own thumbprint (a row edited or mixed up).
    public init(kid: String, createdAt: Date, retiredAt: Date?, exportedPrivateKey: String) throws {
        guard let raw = Base64URL.decode(exportedPrivateKey), raw.count == 32 else {
            throw SigningKeyError.malformed(kid: kid)
        }
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        guard PublicJWK(key.publicKey).thumbprint == kid else { throw SigningKeyError.kidMismatch(kid: kid) }
        self.init(kid: kid, createdAt: createdAt, retiredAt: retiredAt, privateKey: key)
    }

    public func sign<D: DataProtocol>(_ message: D) throws -> Data {
        try privateKey.signature(for: message)
    }

    public var description: String {
        "SigningKey(kid: \(kid), private: <redacted>\(retiredAt == nil ? "" : ", retired"))"
    }
}

public enum SigningKeyError: Error, CustomStringConvertible, Equatable {
    case malformed(kid: String)
    case kidMismatch(kid: String)

    public var description: String {
        switch self {
        case .malformed(let kid): return "the stored signing key \(kid) is not an Ed25519 private key"
        case .kidMismatch(let kid): return "the stored signing key \(kid) does not match its key id"
        }
    }
}

/// A public Ed25519 key as an OKP JSON Web Key (RFC 8037).
public struct PublicJWK: Codable, Sendable, Equatable {
    public var kty = "OKP"
    public var crv = "Ed25519"
    public var x: String
    public var kid: String?
    public var use: String? = "sig"
    public var alg: String? = "EdDSA"

    public init(_ key: Curve25519.Signing.PublicKey, kid: String? = nil) {
        x = Base64URL.encode(key.rawRepresentation)
        self.kid = kid
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    public var thumbprint: String {
        let canonical = #"{"crv":"\#(crv)","kty":"\#(kty)","x":"\#(x)"}"#
        return Base64URL.encode(Array(SHA256.hash(data: Data(canonical.utf8))))
    }

    public var publicKey: Curve25519.Signing.PublicKey? {
        guard kty == "OKP", crv == "Ed25519", let raw = Base64URL.decode(x) else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }
}

/// A JSON Web Key Set.
public struct JWKSet: Codable, Sendable, Equatable {
    public var keys: [PublicJWK]

    public init(keys: [PublicJWK]) { self.keys = keys }
}
