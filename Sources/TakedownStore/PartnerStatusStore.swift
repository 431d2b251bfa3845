import Foundation
import TakedownModel

/// Suspending and re-activating partners. A suspended partner's tokens do not authenticate
/// (`credential(secretHash:)` says so) and `claimDeliveries` skips its deliveries until it is re-activated;
/// its notices and queued deliveries stay.
public protocol PartnerStatusStore: Sendable {
    /// Suspends an active partner. Returns the partner as it is afterwards and whether this call changed it
    /// (false: it was suspended already, and keeps its first time and reason); nil when it does not exist.
    func suspendPartner(_ id: PartnerID, reason: String, at date: Date) async throws -> (Partner, changed: Bool)?
    /// Re-activates a suspended partner, so its held deliveries are claimed again. Same answer as
    /// `suspendPartner`.
    func reactivatePartner(_ id: PartnerID, at date: Date) async throws -> (Partner, changed: Bool)?
}
