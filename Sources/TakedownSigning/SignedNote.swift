import Crypto
import Foundation

/// A C2SP `tlog-checkpoint`: the origin (the log's name), the tree size and the root hash, one a line, and
/// any extension lines after them. Its text is what a signed note signs.
public struct Checkpoint: Sendable, Equatable {
    public var origin: String
    public var size: Int
    public var rootHash: Data
    public var extensions: [String]

    public init(origin: String, size: Int, rootHash: Data, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The note text: each line ends with a newline.
    public var text: String {
        ([origin, String(size), rootHash.base64EncodedString()] + extensions).map { $0 + "\n" }.joined()
    }

    /// Reads a checkpoint's text; nil when it is not one (a size that is not a decimal without a leading
    /// zero, a root that is not 32 bytes of base64, a line missing or empty).
    public init?(text: String) {
        guard text.hasSuffix("\n") else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, !lines[0].isEmpty, lines.allSatisfy({ !$0.isEmpty }),
            lines[1].allSatisfy(\.isASCII), lines[1].allSatisfy(\.isNumber), lines[1].count <= 19,
            lines[1] == "0" || !lines[1].hasPrefix("0"), let size = Int(lines[1]),
            let root = Data(base64Encoded: lines[2]), root.count == 32, root.base64EncodedString() == lines[2]
        else { return nil }
        self.init(origin: lines[0], size: size, rootHash: root, extensions: Array(lines.dropFirst(3)))
    }
}

/// A C2SP signed note with Ed25519 signatures: the text, a blank line, then one line per signature,
/// `— <key name> <base64(key id || signature)>`. The key id is the first four bytes of
/// SHA-256(key name || "\n" || 0x01 || public key).
public enum SignedNote {
    /// Why a note was refused.
    public enum Refusal: Error, Equatable {
        case malformed(String)
        /// No signature by the key asked for, or one that does not verify.
        case notSigned
    }

    /// The four-byte id of an Ed25519 key under `name`.
    public static func keyID(name: String, publicKey: Curve25519.Signing.PublicKey) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data(name.utf8))
        hasher.update(data: [0x0A, 0x01])
        hasher.update(data: publicKey.rawRepresentation)
        return Data(hasher.finalize().prefix(4))
    }

    /// The verifier key as C2SP writes it: `<name>+<key id in hex>+<base64(0x01 || public key)>`.
    public static func verifierKey(name: String, publicKey: Curve25519.Signing.PublicKey) -> String {
        let id = keyID(name: name, publicKey: publicKey).map { String(format: "%02x", $0) }.joined()
        return "\(name)+\(id)+\((Data([0x01]) + publicKey.rawRepresentation).base64EncodedString())"
    }

    /// Reads a verifier key; nil when it is not an Ed25519 one whose id matches its name and key.
    public static func publicKey(fromVerifierKey text: String) -> (name: String, key: Curve25519.Signing.PublicKey)? {
        // The base64 may hold `+` itself: only the first two separate.
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let raw = Data(base64Encoded: String(parts[2])), raw.count == 33, raw.first == 0x01,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw.dropFirst())
        else { return nil }
        let name = String(parts[0])
        guard verifierKey(name: name, publicKey: key) == text else { return nil }
        return (name, key)
    }

    /// Signs `text` (which must end with a newline) under `name`.
    public static func sign(_ text: String, name: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        guard text.hasSuffix("\n") else { throw Refusal.malformed("a note's text ends with a newline") }
        guard validKeyName(name) else { throw Refusal.malformed("a key name has no spaces or plus signs") }
        let signature = try key.signature(for: Data(text.utf8))
        let blob = keyID(name: name, publicKey: key.publicKey) + signature
        return text + "\n— \(name) \(blob.base64EncodedString())\n"
    }

    /// The text of a note signed by `name` with `key`; other signatures are ignored, as C2SP says a verifier
    /// does with keys it does not know.
    public static func open(_ note: String, name: String, key: Curve25519.Signing.PublicKey) throws -> String {
        guard note.utf8.count <= 1_000_000 else { throw Refusal.malformed("a note is at most 1 MB") }
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw Refusal.malformed("no blank line before the signatures")
        }
        // The text ends at the last blank line that is followed only by signature lines.
        let text = String(note[..<split.lowerBound]) + "\n"
        let signatures = note[split.upperBound...]
        guard signatures.hasSuffix("\n") else { throw Refusal.malformed("a signature line ends with a newline") }
        let id = keyID(name: name, publicKey: key)
        for line in signatures.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("— ") else { throw Refusal.malformed("a signature line starts with an em dash") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let blob = Data(base64Encoded: String(fields[1])), blob.count >= 5 else {
                throw Refusal.malformed("a signature line is `— <name> <base64>`")
            }
            guard fields[0] == name, blob.prefix(4) == id else { continue }
            if blob.count == 68, key.isValidSignature(blob.dropFirst(4), for: Data(text.utf8)) { return text }
        }
        throw Refusal.notSigned
    }

    static func validKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains(" ") && !name.contains("+") && !name.contains("\n")
    }
}
