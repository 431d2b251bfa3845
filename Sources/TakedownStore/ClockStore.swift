import Foundation
import TakedownModel

/// SLA policies and URL verification: the stored side of the removal clocks.
public protocol ClockStore: Sendable {
    /// Inserts a policy; throws `conflict` when another policy has its name.
    func insertSLAPolicy(_ policy: SLAPolicy) async throws
    func slaPolicy(_ id: SLAPolicyID) async throws -> SLAPolicy?
    /// Every stored policy in creation order (the default one lives in the settings, not here).
    func slaPolicies() async throws -> [SLAPolicy]

    /// Claims up to `limit` notices whose verification is due (`verify_due_at <= now`, still verifiable),
    /// oldest due first, moving their due time to `now + lease` so no other instance claims them meanwhile.
    /// Each claim carries a fencing token; a crashed checker's claim becomes due again when the lease ends.
    func claimVerifications(now: Date, lease: TimeInterval, limit: Int) async throws -> [VerificationClaim]
    /// Moves a claim's due time from `current` to `until` while its checks run long, if the claim still
    /// holds and no removal report rescheduled the check meanwhile. Returns whether it did.
    func extendVerificationClaim(_ claim: VerificationClaim, from current: Date, until: Date) async throws -> Bool
    /// Records the checks and applies `change` to the notice (new timeline events appended) in one
    /// transaction, if the claim still holds. Returns nil and writes nothing when another claim replaced it.
    func completeVerification(
        _ claim: VerificationClaim, checks: [VerificationCheck], _ change: @Sendable (inout Notice) -> Void
    ) async throws -> Notice?
    /// Every check of a notice's URLs, oldest first.
    func verificationChecks(notice: NoticeID) async throws -> [VerificationCheck]
}

/// A notice claimed for checking, with the token that fences the claim.
public struct VerificationClaim: Sendable, Equatable {
    public var noticeId: NoticeID
    public var token: Int64

    public init(noticeId: NoticeID, token: Int64) {
        self.noticeId = noticeId
        self.token = token
    }
}
