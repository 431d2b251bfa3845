import Crypto
import Foundation

/// Standard Webhooks signatures: `v1` HMAC-SHA256 over `id.timestamp.body` with a `whsec_` secret.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: `whsec_` and 32 random bytes in standard base64, as the Standard Webhooks libraries read it.
    public static func newSecret() -> String {
        secretPrefix + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
    }

    /// The `webhook-signature` header value: one `v1,` signature per secret, space-separated, so a receiver
    /// that knows either the old or the new secret accepts the message during a rotation.
    public static func header(id: String, timestamp: Int, body: Data, secrets: [String]) throws -> String {
        try secrets.map { "v1," + (try sign(id: id, timestamp: timestamp, body: body, secret: $0)) }
            .joined(separator: " ")
    }

    public static func sign(id: String, timestamp: Int, body: Data, secret: String) throws -> String {
        let encoded = secret.hasPrefix(secretPrefix) ? String(secret.dropFirst(secretPrefix.count)) : secret
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else { throw SecretError.malformed }
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString()
    }

    public enum SecretError: Error { case malformed }
}
