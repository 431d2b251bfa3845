import Foundation
import TakedownModel

/// The canonical, signed notice: what a provider can cite in its statement of reasons. It carries
/// URLs, hashes and references only: never media, never a description of the abuse. Sent to a peer
/// hotline's gateway it is a *referral* (`type` `referral`, `aud` the peer's base URL) and each item
/// carries its hosting trace.
public struct NoticeDocument: Codable, Sendable, Equatable {
    // JWT claims (RFC 7519); `jti` is the notice id.
    public var iss: String
    public var aud: String
    public var iat: Int
    public var jti: String

    public var id: String
    public var type = "takedown_notice"
    public var noticeVersion = 1
    public var sequence: Int
    public var caseReference: String
    public var issuedAt: String
    public var deadlineAt: String
    public var language: String
    public var issuer: Issuer
    public var recipient: Recipient
    public var legalBasis: [LegalBasis]
    public var category: CategoryCode
    public var mediaType: String
    public var explanation: String
    public var goodFaithStatement: String
    public var items: [Item]
    public var requestedAction: RequestedAction
    public var response: ResponseLinks
    public var appeal: Appeal

    public struct Issuer: Codable, Sendable, Equatable {
        public var organisation: String
        public var contactEmail: String
        public var country: String
        public var website: String?
        public var trustedFlagger: TrustedFlagger
    }

    public struct TrustedFlagger: Codable, Sendable, Equatable {
        public var designated: Bool
        public var designatedBy: String?
        public var scope: String?
    }

    public struct Recipient: Codable, Sendable, Equatable {
        public var partnerId: String
        public var name: String
        public var contactEmail: String
        public var jurisdiction: String
    }

    public struct CategoryCode: Codable, Sendable, Equatable {
        /// Non-graphic code of the kind of content: always `csam` here.
        public var code = "csam"
        public var ukGrade: String
        public var classification: String?
        /// XARF `content/csam` classification: the industry class, or `baseline`.
        public var xarfClassification: String
    }

    public struct Item: Codable, Sendable, Equatable {
        public var url: String
        public var observedAt: String
        public var ip: String?
        public var hashes: Hashes
        /// Only in a referral: where the sender found the item hosted.
        public var trace: Trace?
    }

    /// An item's hosting trace as a referral carries it.
    public struct Trace: Codable, Sendable, Equatable {
        public var host: String?
        public var addresses: [String]
        public var address: String?
        public var asn: Int?
        public var asName: String?
        public var country: String?
        public var basis: String
        public var tracedAt: String

        public init(_ trace: HostingTrace) {
            host = trace.host
            addresses = trace.addresses
            address = trace.address
            asn = trace.asn
            asName = trace.asName
            country = trace.country ?? trace.rdap?.country
            basis = trace.basis.rawValue
            tracedAt = Timestamp.format(trace.tracedAt)
        }
    }

    /// Whether this document is a referral to a peer hotline.
    public var isReferral: Bool { type == Self.referralType }
    public static let referralType = "referral"

    public struct RequestedAction: Codable, Sendable, Equatable {
        public var action = "remove_or_disable_access"
        public var preserveEvidence = true
        public var preservationDays: Int
        public var notifyUploader = false
    }

    public struct ResponseLinks: Codable, Sendable, Equatable {
        public var notice: String
        public var acknowledge: String
        public var removal: String
        public var unable: String
        public var dispute: String
    }

    public struct Appeal: Codable, Sendable, Equatable {
        public var route: String
        public var contactEmail: String
    }
}

extension NoticeDocument {
    /// Canonical JSON: sorted keys, no insignificant whitespace, unescaped slashes. For the value
    /// types a notice holds (strings, integers, booleans) this matches RFC 8785 (JCS).
    public func canonicalJSON() throws -> Data {
        canonicalValue.data
    }

    public static func decode(_ data: Data) throws -> NoticeDocument {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(NoticeDocument.self, from: data)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()
}
