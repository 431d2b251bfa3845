import Foundation
import TakedownModel

/// Referrals received from peer hotlines, their decisions, and the status updates owed to the sender.
public protocol ReferralStore: Sendable {
    /// Records a referral. A peer's referral whose `remoteId` is already recorded is not written again:
    /// the stored one comes back with `inserted` false. Refused attempts are always written.
    func insertReferral(_ referral: Referral) async throws -> (referral: Referral, inserted: Bool)
    func referral(_ id: ReferralID) async throws -> Referral?
    /// Referrals in receipt order after a position, narrowed by state and sender.
    func referrals(_ query: ReferralQuery) async throws -> [Referral]
    /// Accepts a received referral: the case its items became (with its notices and their deliveries) and
    /// the decision, in one transaction. Throws `conflict` when it is no longer `received`.
    func acceptReferral(
        _ id: ReferralID, case record: Case, notices: [Notice], deliveries: [Delivery], by actor: String, at now: Date
    ) async throws -> Referral
    /// Declines a received referral; throws `conflict` when it is no longer `received`.
    func declineReferral(_ id: ReferralID, reason: String, by actor: String, at now: Date) async throws -> Referral
    /// Decided referrals after a position whose sender has not been told their final state, oldest first.
    func referralsToReport(after position: Int64, limit: Int) async throws -> [Referral]
    /// Moves a referral's report on from `sequence` to `sequence + 1` (or only marks it done, `delivery`
    /// nil) and writes the update's delivery, in one transaction; false, writing nothing, when another
    /// round moved it first.
    func recordReferralReport(
        _ id: ReferralID, after sequence: Int, digest: String, done: Bool, delivery: Delivery?
    ) async throws -> Bool
}

/// Filters and page of `GET /v1/referrals?direction=in`.
public struct ReferralQuery: Sendable, Equatable {
    public var after: Int64
    public var limit: Int
    public var state: ReferralState?
    public var sender: PartnerID?

    public init(after: Int64 = 0, limit: Int = 100, state: ReferralState? = nil, sender: PartnerID? = nil) {
        self.after = after
        self.limit = limit
        self.state = state
        self.sender = sender
    }
}
