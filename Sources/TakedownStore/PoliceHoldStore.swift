import Foundation
import TakedownModel

/// Cases held for the police, with their planned notices. A held case has no notice rows at all, so
/// nothing a provider can read (listings, counts, the poll, webhooks) can show it.
public protocol PoliceHoldStore: Sendable {
    /// Writes a case, its hold and, when given, the request's idempotency record, in one transaction; no
    /// notice. When the idempotency key was used before, nothing is written and the stored answer comes back.
    func insertHeldCase(_ record: Case, hold: PoliceHold, idempotency: IdempotencyRecord?) async throws
        -> IdempotencyRecord?
    func hold(_ id: HoldID) async throws -> PoliceHold?
    func hold(ofCase id: CaseID) async throws -> PoliceHold?
    /// Holds, newest first: of one police partner when given, in one status when given, held in
    /// [heldFrom, heldTo) when given.
    func holds(_ query: HoldQuery) async throws -> [PoliceHold]
    /// Replaces a held hold (a delay); false when it is no longer held.
    func updateHeldHold(_ hold: PoliceHold) async throws -> Bool
    /// Releases a hold: stores it released, writes its notices and their deliveries, and points the case's
    /// items at them, in one transaction. Throws `conflict` when the hold is no longer held.
    func releaseHold(_ hold: PoliceHold, notices: [Notice], deliveries: [Delivery]) async throws
    /// Marks held holds past their end and not yet escalated as escalated at `now`, at most `limit`;
    /// returns them. Each is returned by one caller only, however many instances ask.
    func escalateOverdueHolds(at now: Date, limit: Int) async throws -> [PoliceHold]
}

public struct HoldQuery: Sendable {
    public var policePartner: PartnerID?
    public var status: PoliceHold.Status?
    public var heldFrom: Date?
    public var heldTo: Date?
    public var limit: Int

    public init(
        policePartner: PartnerID? = nil, status: PoliceHold.Status? = nil, heldFrom: Date? = nil, heldTo: Date? = nil,
        limit: Int = 100
    ) {
        self.policePartner = policePartner
        self.status = status
        self.heldFrom = heldFrom
        self.heldTo = heldTo
        self.limit = limit
    }
}
