import Crypto
import Foundation
import Synchronization
import TakedownModel

/// Compact JWS (RFC 7515) with Ed25519 (`alg` `EdDSA`, RFC 8037).
///
/// Written over swift-crypto rather than taken from jwt-kit because the signed payload must be the
/// exact canonical bytes the gateway stores at issue; jwt-kit re-serialises a `Codable` payload, and
/// would bring X509 and CryptoExtras into the build for one signature scheme.
public enum JWS {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var kid: String
        public var typ: String?
    }

    /// Signs `payload` as is, returning `header.payload.signature`.
    public static func sign(payload: Data, with key: SigningKey, type: String = "JWT") throws -> String {
        let signingInput = try encodedHeader(kid: key.kid, type: type) + "." + Base64URL.encode(payload)
        let signature = try key.sign(Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The encoded protected header, the same for every document a key signs with one type: kept rather
    /// than encoded again for each notice.
    private static let headers = Mutex<[String: String]>([:])

    static func encodedHeader(kid: String, type: String) throws -> String {
        let name = kid + "\u{0}" + type
        if let known = headers.withLock({ $0[name] }) { return known }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = Base64URL.encode(try encoder.encode(Header(alg: "EdDSA", kid: kid, typ: type)))
        headers.withLock { headers in
            if headers.count >= 64 { headers.removeAll() }
            headers[name] = encoded
        }
        return encoded
    }

    /// Checks a compact JWS against a key set and returns its header and payload.
    public static func verify(_ compact: String, keys: JWKSet) throws(VerificationError) -> (Header, Data) {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(String(parts[0])),
            let payload = Base64URL.decode(String(parts[1])), let signature = Base64URL.decode(String(parts[2]))
        else { throw .malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else { throw .malformed }
        // RFC 9864's fully specified "Ed25519" is accepted beside the polymorphic "EdDSA".
        guard header.alg == "EdDSA" || header.alg == "Ed25519" else { throw .unsupportedAlgorithm(header.alg) }
        guard let jwk = keys.keys.first(where: { $0.kid == header.kid }), let key = jwk.publicKey else {
            throw .unknownKey(header.kid)
        }
        let signingInput = Data(parts[0].utf8) + Data(".".utf8) + Data(parts[1].utf8)
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }
        return (header, payload)
    }

    public enum VerificationError: Error, Equatable, Sendable {
        case malformed
        case unsupportedAlgorithm(String)
        case unknownKey(String)
        case badSignature
    }
}
