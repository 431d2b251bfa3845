/// Bytes as lower-case hexadecimal text. `String(format: "%02x")` per byte went through Foundation's
/// formatter and cost more than the SHA-256 it printed (a token check and an idempotency key hash on every
/// request).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
