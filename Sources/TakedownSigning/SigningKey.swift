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

    public func sign<D: DataProtocol>(_ message: D) throws -> Data {
        try privateKey.signature(for: message)
    }

    public var description: String {
        "SigningKey(kid: \(kid), private: <redacted>\(retiredAt == nil ? "" : ", retired"))"
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
