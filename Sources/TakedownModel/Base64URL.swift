import Foundation

/// Unpadded base64url (RFC 4648 §5): JOSE, cursors and token secrets.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode<D: DataProtocol>(_ data: D) -> String {
        // Straight from bytes to text: Foundation's base64 and then a pass over `Data`'s iterator to change
        // three characters cost more than the Ed25519 signature the JWS carries.
        let bytes = [UInt8](data)
        let length = bytes.count / 3 * 4 + [0, 2, 3][bytes.count % 3]
        return String(unsafeUninitializedCapacity: length) { output in
            bytes.withUnsafeBufferPointer { input in
                var read = 0
                var written = 0
                func put(_ value: UInt32, _ shift: UInt32) {
                    output[written] = alphabet[Int((value >> shift) & 0x3F)]
                    written += 1
                }
                while read + 3 <= input.count {
                    let value = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8 | UInt32(input[read + 2])
                    put(value, 18)
                    put(value, 12)
                    put(value, 6)
                    put(value, 0)
                    read += 3
                }
                switch input.count - read {
                case 1:
                    let value = UInt32(input[read]) << 16
                    put(value, 18)
                    put(value, 12)
                case 2:
                    let value = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8
                    put(value, 18)
                    put(value, 12)
                    put(value, 6)
                default: break
                }
                return written
            }
        }
    }

    public static func decode(_ text: String) -> Data? {
        guard
            text.utf8.allSatisfy({
                (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95
            })
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
