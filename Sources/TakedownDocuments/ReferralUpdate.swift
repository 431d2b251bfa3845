import Foundation
import TakedownModel

/// What the receiving hotline's gateway tells the sender about a referral, signed as a compact JWS and
/// posted to the sender's `POST /v1/referral-updates`. Each update is the whole current state, numbered:
/// the sender keeps the highest `sequence` it has seen, so a repeated or late update changes nothing.
public struct ReferralUpdate: Codable, Sendable, Equatable {
    public var iss: String
    public var aud: String
    public var iat: Int
    /// The update's own id: the same on every retry of one update.
    public var jti: String
    public var type = "referral_update"
    /// The sender's id for the referral: the `jti` of the referral document (its notice id).
    public var referral: String
    /// The receiver's id for it (`rfl_…`).
    public var receivedAs: String
    public var sequence: Int
    public var status: Status
    /// When the state named by `status` was reached.
    public var at: String
    /// Why it was declined.
    public var reason: String?
    /// How many notices the receiver issued for it.
    public var notices: Int
    public var items: [Item]

    public enum Status: String, Codable, Sendable, CaseIterable {
        case received
        case accepted
        case declined
        case noticeIssued = "notice_issued"
        case acknowledged
        case removed
        case verified
    }

    public struct Item: Codable, Sendable, Equatable {
        public var url: String
        public var removedAt: String?
        public var verifiedAt: String?

        public init(url: String, removedAt: String? = nil, verifiedAt: String? = nil) {
            self.url = url
            self.removedAt = removedAt
            self.verifiedAt = verifiedAt
        }
    }

    public init(
        iss: String, aud: String, iat: Int, jti: String, referral: String, receivedAs: String, sequence: Int,
        status: Status, at: String, reason: String?, notices: Int, items: [Item]
    ) {
        self.iss = iss
        self.aud = aud
        self.iat = iat
        self.jti = jti
        self.referral = referral
        self.receivedAs = receivedAs
        self.sequence = sequence
        self.status = status
        self.at = at
        self.reason = reason
        self.notices = notices
        self.items = items
    }

    public func canonicalJSON() throws -> Data {
        try NoticeDocument.encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ReferralUpdate {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ReferralUpdate.self, from: data)
    }
}
