import Crypto
import Foundation
import TakedownModel

/// The documents of NCMEC's hash-sharing API v2 (the XML that `threatexchange`'s `NCMECHashAPI` and
/// Hasher-Matcher-Actioner read), written with libxml2's streaming writer. `Schemas/ncmec-hashsharing-v2.xsd`
/// describes exactly what is written here.
public enum NCMECDialect {
    public static let namespace = "https://hashsharing.ncmec.org/hashsharing/v2"

    /// A member of the exchange: a number and a display name.
    public struct Member: Sendable, Equatable {
        public var id: Int64
        public var name: String

        public init(id: Int64, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// A negative-feedback reason a member may give.
    public struct Reason: Sendable, Equatable {
        public var guid: String
        public var name: String

        public init(guid: String, name: String) {
            self.guid = guid
            self.name = name
        }
    }

    /// `<status>`: who the caller is.
    public static func status(ipAddress: String, username: String, member: Member) throws -> [UInt8] {
        try document("status") { writer in
            try writer.element("ipAddress", ipAddress)
            try writer.element("username", username)
            try writer.element("member", member.name, attributes: ["id": String(member.id)])
        }
    }

    /// `<members>`: every member whose entries the caller may see.
    public static func members(_ members: [Member]) throws -> [UInt8] {
        try document("members") { writer in
            for member in members {
                try writer.element("member", member.name, attributes: ["id": String(member.id)])
            }
        }
    }

    /// `<feedbackReasons>`: the reasons for negative feedback on one fingerprint type.
    public static func feedbackReasons(_ reasons: [Reason]) throws -> [UInt8] {
        try document("feedbackReasons") { writer in
            try writer.start("availableFeedbackReasons")
            for reason in reasons {
                try writer.start("reason")
                try writer.attribute("guid", reason.guid)
                try writer.attribute("name", reason.name)
                try writer.end()
            }
            try writer.end()
        }
    }

    static func document(_ root: String, _ body: (XMLStreamWriter) throws -> Void) throws -> [UInt8] {
        let writer = try XMLStreamWriter()
        try writer.startDocument()
        try writer.start(root, namespace: namespace)
        try body(writer)
        try writer.endDocument()
        return try writer.take()
    }

    /// A member number for a name (a partner id, the gateway's issuer): the first 48 bits of its SHA-256.
    /// The dialect numbers members; ours are named, and this keeps each number stable without storing it,
    /// with a chance of two names sharing one below one in a million for ten thousand names.
    public static func memberNumber(for name: String) -> Int64 {
        SHA256.hash(data: Data(name.utf8)).prefix(6).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }

    /// Times as the dialect writes them: UTC to the second (`2017-10-24T15:00:00Z`); the client parses
    /// `maxTimestamp` with exactly this pattern.
    public static func timestamp(_ date: Date) -> String {
        Timestamp.formatSeconds(date)
    }

    /// `/v2/entries?from=…&to=…[&start=…&size=…&max=…]`, relative to a list's base URL: the first page of a
    /// window as a client asks for it, or the link to a later page as the dialect writes it.
    public static func entriesLink(from: Date, to: Date, start: Int64? = nil, size: Int? = nil, max: Int64? = nil)
        -> String
    {
        var components = URLComponents()
        components.path = "/v2/entries"
        components.queryItems =
            [URLQueryItem(name: "from", value: timestamp(from)), URLQueryItem(name: "to", value: timestamp(to))]
            + [("start", start.map(String.init)), ("size", size.map(String.init)), ("max", max.map(String.init))]
            .compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        // As NCMEC writes it: the colons of the times encoded too.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: ":", with: "%3A")
        return components.string ?? "/v2/entries"
    }

    /// The fingerprints of an entry, named as the dialect names them, in a fixed order.
    public static func fingerprints(_ hashes: Hashes) -> [(name: String, value: String)] {
        [
            ("md5", hashes.md5), ("sha1", hashes.sha1), ("sha256", hashes.sha256), ("pdna", hashes.photodna),
            ("pdq", hashes.pdq),
        ].compactMap { name, value in value.map { (name, $0) } }
    }
}
