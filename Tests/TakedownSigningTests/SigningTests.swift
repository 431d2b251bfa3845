import Crypto
import Foundation
import TakedownModel
import TakedownSigning
import TakedownTestSupport
import Testing

@Suite("Signing")
struct SigningTests {
    /// RFC 8037 appendix A.1 key.
    static let rfcKey = try! Curve25519.Signing.PrivateKey(
        rawRepresentation: Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")!)

    @Test("the JWK and its thumbprint match RFC 8037 A.2 and A.3")
    func rfcThumbprint() {
        let jwk = PublicJWK(Self.rfcKey.publicKey)
        #expect(jwk.x == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(jwk.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    @Test("the signature matches RFC 8037 A.4 and verifies")
    func rfcSignature() throws {
        let key = SigningKey(kid: "rfc", createdAt: Date(), privateKey: Self.rfcKey)
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
        let signature = try key.sign(Data(input.utf8))
        #expect(
            Base64URL.encode(signature)
                == "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
    }

    @Test("a compact JWS round-trips and any change breaks it")
    func roundTrip() throws {
        let key = SigningKey.generate(at: Date())
        let payload = Data(#"{"id":"ntc_x","jti":"ntc_x"}"#.utf8)
        let jws = try JWS.sign(payload: payload, with: key)
        let keys = JWKSet(keys: [key.publicJWK])
        let (header, verified) = try JWS.verify(jws, keys: keys)
        #expect(header.alg == "EdDSA")
        #expect(header.kid == key.kid)
        #expect(header.typ == "JWT")
        #expect(verified == payload)

        let parts = jws.split(separator: ".").map(String.init)
        let forged = [parts[0], Base64URL.encode(Data(#"{"id":"ntc_y","jti":"ntc_y"}"#.utf8)), parts[2]].joined(
            separator: ".")
        #expect(throws: JWS.VerificationError.badSignature) { try JWS.verify(forged, keys: keys) }
        #expect(throws: JWS.VerificationError.malformed) { try JWS.verify("a.b", keys: keys) }
        let stranger = SigningKey.generate(at: Date())
        #expect(throws: JWS.VerificationError.unknownKey(key.kid)) {
            try JWS.verify(jws, keys: JWKSet(keys: [stranger.publicJWK]))
        }
    }

    @Test("keys live in owner-only files, rotate, and stay published")
    func keyRing() throws {
        let directory = try temporaryDirectory().appendingPathComponent("keys")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        var ring = try KeyFolder(directory: directory)
        #expect(ring.active == nil)
        let first = try ring.ensureKey(at: Date(timeIntervalSince1970: 100))
        #expect(try ring.ensureKey(at: Date(timeIntervalSince1970: 200)).kid == first.kid)
        let old = try JWS.sign(payload: Data("{}".utf8), with: first)

        let second = try ring.rotate(at: Date(timeIntervalSince1970: 300))
        #expect(second.kid != first.kid)

        let reloaded = try KeyFolder(directory: directory)
        #expect(reloaded.active?.kid == second.kid)
        #expect(reloaded.keys.map(\.kid) == [first.kid, second.kid])
        #expect(reloaded.keys[0].retiredAt == Date(timeIntervalSince1970: 300))
        #expect(reloaded.jwks.keys.map(\.kid) == [first.kid, second.kid])
        _ = try JWS.verify(old, keys: reloaded.jwks)

        let folder = try FileManager.default.attributesOfItem(atPath: directory.path)
        #expect((folder[.posixPermissions] as? Int) == 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let attributes = try FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent(file).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
        }
    }

    @Test("a key read back from the store is the same key, and a row with another key's id is refused")
    func exportedKeys() throws {
        let key = SigningKey.generate(at: Date(timeIntervalSince1970: 100))
        let back = try SigningKey(
            kid: key.kid, createdAt: key.createdAt, retiredAt: nil, exportedPrivateKey: key.exportedPrivateKey)
        let jws = try JWS.sign(payload: Data("{}".utf8), with: back)
        _ = try JWS.verify(jws, keys: JWKSet(keys: [key.publicJWK]))
        let other = SigningKey.generate(at: Date(timeIntervalSince1970: 100))
        #expect(throws: SigningKeyError.kidMismatch(kid: key.kid)) {
            try SigningKey(
                kid: key.kid, createdAt: key.createdAt, retiredAt: nil, exportedPrivateKey: other.exportedPrivateKey)
        }
        for bad in ["", "not base64!", Base64URL.encode(Array(repeating: 1, count: 31))] {
            #expect(throws: SigningKeyError.malformed(kid: key.kid)) {
                try SigningKey(kid: key.kid, createdAt: key.createdAt, retiredAt: nil, exportedPrivateKey: bad)
            }
        }
    }

    @Test("the active key signs; retired keys stay published for the time set, then leave the JWKS")
    func publication() {
        var old = SigningKey.generate(at: Date(timeIntervalSince1970: 0))
        old.retiredAt = Date(timeIntervalSince1970: 1_000)
        var older = SigningKey.generate(at: Date(timeIntervalSince1970: -10))
        older.retiredAt = Date(timeIntervalSince1970: 10)
        let active = SigningKey.generate(at: Date(timeIntervalSince1970: 1_000))
        let ring = KeyRing(keys: [active, old, older])
        #expect(ring.active?.kid == active.kid)
        #expect(ring.keys.map(\.kid) == [older.kid, old.kid, active.kid])
        #expect(
            ring.jwks(retiredSince: Date(timeIntervalSince1970: 5)).keys.map(\.kid) == [older.kid, old.kid, active.kid])
        #expect(ring.jwks(retiredSince: Date(timeIntervalSince1970: 500)).keys.map(\.kid) == [old.kid, active.kid])
        #expect(ring.jwks(retiredSince: Date(timeIntervalSince1970: 5_000)).keys.map(\.kid) == [active.kid])
        #expect(KeyRing(keys: [old]).active == nil)
    }

    @Test("printing a key never shows its private half")
    func redaction() {
        let key = SigningKey(kid: "k1", createdAt: Date(), privateKey: Self.rfcKey)
        let printed = "\(key) \(String(describing: key)) \(String(reflecting: key))"
        #expect(printed.contains("redacted"))
        #expect(!printed.contains("nWGxne"))
        #expect(!printed.contains(Self.rfcKey.rawRepresentation.base64EncodedString()))
    }
}
