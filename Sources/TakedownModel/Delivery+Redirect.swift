import Foundation

extension Delivery {
    /// The same event bound for another address of its channel. A webhook changes its URL only (the body
    /// and `webhook-id` stay); an email also names the new address in its `To:` header.
    public func redirected(to endpoint: String, at now: Date) -> Delivery {
        var moved = self
        moved.endpoint = endpoint
        moved.updatedAt = now
        if channel == .email { moved.payload = Self.readdressed(payload, to: endpoint) }
        return moved
    }

    /// A message with the first `To:` field of its header replaced; the body and every other field stay.
    static func readdressed(_ message: Data, to address: String) -> Data {
        let bytes = Array(message)
        let crlf: [UInt8] = [13, 10]
        let headEnd = bytes.firstRange(of: crlf + crlf)?.lowerBound ?? bytes.count
        var lineStart = 0
        while lineStart < headEnd {
            let lineEnd = bytes[lineStart..<headEnd].firstRange(of: crlf)?.lowerBound ?? headEnd
            let line = bytes[lineStart..<lineEnd]
            if line.count >= 3, String(decoding: line.prefix(3), as: UTF8.self).lowercased() == "to:" {
                return Data(bytes[..<lineStart] + Array("To: \(address)".utf8) + bytes[lineEnd...])
            }
            lineStart = lineEnd + 2
        }
        return message
    }
}
