import TakedownModel

/// The two DNS messages the resolver exchanges (RFC 1035): a query for one name's A or AAAA records, and
/// the server's response, read as hostile input: every count, length and compression pointer is checked
/// against the message, pointers may only point backwards, names are at most 255 bytes, and a response
/// that does not answer the question asked (its id, name, type and class) is refused.
public enum DNSMessage {
    public enum RecordType: UInt16, Sendable {
        case a = 1
        case cname = 5
        case aaaa = 28
    }

    public struct Answer: Sendable, Equatable {
        /// The response code: 0 no error, 3 the name does not exist (NXDOMAIN), others a failure.
        public var rcode: Int
        /// The server cut the answer short (TC): it did not fit in a datagram.
        public var truncated: Bool
        /// Addresses of the asked type for the name or the names its CNAME chain leads to, in answer order.
        public var addresses: [IPAddress]
    }

    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "malformed DNS response: \(reason)" }
    }

    /// A CNAME chain longer than this is refused.
    static let maxChain = 8
    /// Records of the answer section read at most.
    static let maxAnswers = 64
    static let maxPointerJumps = 64

    /// The query for `name`'s records of `type` with recursion desired; nil when `name` is not a host name
    /// DNS can carry (an empty label, a label over 63 bytes, over 253 bytes in all).
    public static func query(id: UInt16, name: String, type: RecordType) -> [UInt8]? {
        guard let labels = labels(of: name) else { return nil }
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in labels {
            bytes.append(UInt8(label.count))
            bytes += label
        }
        bytes += [0, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        return bytes
    }

    static func labels(of name: String) -> [[UInt8]]? {
        var trimmed = Substring(name)
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253, trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return nil
        }
        let labels = trimmed.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard labels.allSatisfy({ (1...63).contains($0.count) }) else { return nil }
        return labels
    }

    /// Reads the response to the query `query(id:name:type:)` made.
    public static func parse(_ bytes: [UInt8], id: UInt16, name: String, type: RecordType) throws(Malformed)
        -> Answer
    {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= 12 else { throw Malformed(reason: "\(bytes.count) bytes, shorter than a header") }
        let answeredID = try reader.u16()
        guard answeredID == id else { throw Malformed(reason: "the id \(answeredID) is not the query's") }
        let flags = try reader.u16()
        guard flags & 0x8000 != 0 else { throw Malformed(reason: "a query, not a response") }
        guard (flags >> 11) & 0x0F == 0 else { throw Malformed(reason: "not a standard query's response") }
        let questions = try reader.u16()
        let answers = try reader.u16()
        _ = try reader.u16()  // authority records: not read
        _ = try reader.u16()  // additional records: not read
        let rcode = Int(flags & 0x000F)
        let truncated = flags & 0x0200 != 0
        // A failure may come without the question; a success must echo it.
        guard rcode == 0 else { return Answer(rcode: rcode, truncated: truncated, addresses: []) }
        guard questions == 1 else { throw Malformed(reason: "\(questions) questions, not the one asked") }
        let asked = try reader.name()
        guard asked == canonical(name) else { throw Malformed(reason: "the question is not the name asked") }
        guard try reader.u16() == type.rawValue, try reader.u16() == 1 else {
            throw Malformed(reason: "the question is not the type or class asked")
        }
        var records: [(owner: String, type: UInt16, data: Range<Int>)] = []
        for _ in 0..<min(Int(answers), maxAnswers) {
            let owner = try reader.name()
            let recordType = try reader.u16()
            let recordClass = try reader.u16()
            _ = try reader.u32()  // TTL: the cache keeps its own
            let length = Int(try reader.u16())
            let data = try reader.skip(length)
            guard recordClass == 1 else { continue }
            records.append((owner, recordType, data))
        }
        // The names that stand for the one asked: it, and where its CNAMEs lead.
        var names: Set<String> = [asked]
        for _ in 0..<maxChain {
            var grew = false
            for record in records where record.type == RecordType.cname.rawValue && names.contains(record.owner) {
                var target = Reader(bytes: bytes, offset: record.data.lowerBound)
                let alias = try target.name()
                guard target.offset <= record.data.upperBound else {
                    throw Malformed(reason: "a CNAME overruns its data")
                }
                if names.insert(alias).inserted { grew = true }
            }
            if !grew { break }
        }
        var addresses: [IPAddress] = []
        for record in records where record.type == type.rawValue && names.contains(record.owner) {
            let expected = type == .a ? 4 : 16
            guard record.data.count == expected else {
                throw Malformed(reason: "an address record of \(record.data.count) bytes, not \(expected)")
            }
            guard
                let address = IPAddress(
                    rangeKey: expected == 16 ? Array(bytes[record.data]) : mapped(bytes[record.data]))
            else { continue }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return Answer(rcode: 0, truncated: truncated, addresses: addresses)
    }

    static func mapped(_ v4: ArraySlice<UInt8>) -> [UInt8] { [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + v4 }

    static func canonical(_ name: String) -> String {
        var lowered = name.lowercased()
        if lowered.hasSuffix(".") { lowered.removeLast() }
        return lowered
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8], offset: Int = 0) {
            self.bytes = bytes
            self.offset = offset
        }

        mutating func u16() throws(Malformed) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw Malformed(reason: "cut short at byte \(offset)") }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func u32() throws(Malformed) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        mutating func skip(_ count: Int) throws(Malformed) -> Range<Int> {
            guard offset + count <= bytes.count else { throw Malformed(reason: "a record overruns the message") }
            defer { offset += count }
            return offset..<offset + count
        }

        /// A name, lower-cased and without the final dot, following compression pointers backwards only.
        mutating func name() throws(Malformed) -> String {
            var labels: [String] = []
            var length = 0
            var position = offset
            var jumped = false
            var jumps = 0
            var floor = offset  // a pointer must point before the label that holds it
            while true {
                guard position < bytes.count else { throw Malformed(reason: "a name runs past the message") }
                let byte = bytes[position]
                switch byte & 0xC0 {
                case 0xC0:
                    guard position + 1 < bytes.count else { throw Malformed(reason: "a pointer is cut short") }
                    let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                    guard target < floor else {
                        throw Malformed(reason: "a compression pointer does not point backwards")
                    }
                    jumps += 1
                    guard jumps <= DNSMessage.maxPointerJumps else {
                        throw Malformed(reason: "too many compression pointers")
                    }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = target
                    floor = target
                case 0x00:
                    let count = Int(byte)
                    if count == 0 {
                        if !jumped { offset = position + 1 }
                        return labels.joined(separator: ".")
                    }
                    guard position + 1 + count <= bytes.count else {
                        throw Malformed(reason: "a label runs past the message")
                    }
                    length += count + 1
                    guard length <= 255 else { throw Malformed(reason: "a name longer than 255 bytes") }
                    labels.append(
                        String(decoding: bytes[(position + 1)...(position + count)], as: UTF8.self).lowercased())
                    position += count + 1
                default:
                    throw Malformed(reason: "a label type DNS does not use (0x\(String(byte, radix: 16)))")
                }
            }
        }
    }
}
