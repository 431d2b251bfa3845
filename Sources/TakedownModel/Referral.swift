import Foundation

public struct ReferralID: PrefixedIdentifier {
    public static let prefix = "rfl_"
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

/// Where an incoming referral stands at this gateway.
public enum ReferralState: String, Codable, Sendable, CaseIterable {
    /// Checked and recorded; waiting for an analyst.
    case received
    /// An analyst (or trust in the peer) took it on: its items became a case here.
    case accepted
    case declined
    /// Not taken: unknown sender, bad signature, a key the sender never published, a replay. Kept so
    /// staff see what was tried.
    case refused
}

/// A referral another hotline's gateway sent here, as received: the signed document and what became of
/// it. A refused one keeps only what was learnt about the attempt.
public struct Referral: Codable, Sendable, Equatable {
    public var id: ReferralID
    /// Store-assigned position in receipt order.
    public var position: Int64
    /// The peer hotline it came from; nil when the sender was not recognised.
    public var senderId: PartnerID?
    /// The sender's id for it (the document's `jti`).
    public var remoteId: String?
    public var state: ReferralState
    public var receivedAt: Date
    /// The compact JWS as received (nil for a refused one).
    public var jws: String?
    /// The signed payload, byte for byte (nil for a refused one).
    public var document: Data?
    public var decidedAt: Date?
    public var decidedBy: String?
    /// Why it was declined or refused.
    public var reason: String?
    /// The case its items became when accepted.
    public var caseId: CaseID?
    /// The last status update written for the sender, and whether nothing more will follow.
    public var report: Report

    public struct Report: Codable, Sendable, Equatable {
        public var sequence: Int
        /// SHA-256 of what the last update said, so an unchanged state sends nothing.
        public var digest: String?
        public var done: Bool

        public init(sequence: Int = 0, digest: String? = nil, done: Bool = false) {
            self.sequence = sequence
            self.digest = digest
            self.done = done
        }
    }

    public init(
        id: ReferralID = .generate(), position: Int64 = 0, senderId: PartnerID?, remoteId: String?,
        state: ReferralState, receivedAt: Date, jws: String?, document: Data?, decidedAt: Date? = nil,
        decidedBy: String? = nil, reason: String? = nil, caseId: CaseID? = nil, report: Report = Report()
    ) {
        self.id = id
        self.position = position
        self.senderId = senderId
        self.remoteId = remoteId
        self.state = state
        self.receivedAt = receivedAt
        self.jws = jws
        self.document = document
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.reason = reason
        self.caseId = caseId
        self.report = report
    }
}
