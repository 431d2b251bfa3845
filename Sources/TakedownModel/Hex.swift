/// Bytes as hexadecimal text. `String(format: "%02x")` per byte went through Foundation's formatter and cost
/// more than the SHA-256 it printed (a token check and an idempotency key hash on every request).
public enum Hex {
    private static let lower = Array("0123456789abcdef".utf8)
    private static let upper = Array("0123456789ABCDEF".utf8)

    /// Two lower-case digits per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        encode(bytes, digits: lower)
    }

    /// Two upper-case digits per byte, as percent-encoding writes them.
    public static func encodeUppercase(_ bytes: some Sequence<UInt8>) -> String {
        encode(bytes, digits: upper)
    }

    private static func encode(_ bytes: some Sequence<UInt8>, digits: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
