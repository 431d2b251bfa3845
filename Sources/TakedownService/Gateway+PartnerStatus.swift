import Foundation
import TakedownModel
import TakedownStore

extension PartnerDesk {
    /// Suspends a partner: its tokens stop authenticating at once and its webhook and email deliveries wait
    /// (new ones too). Its notices stay, and cases still route to it: a notice is issued and held, so
    /// nothing is lost and the deadline clock is honest; its pushes go out when it is re-activated.
    public func suspendPartner(_ id: PartnerID, reason: String?) async throws -> Partner {
        var v = Validator()
        let reason = v.text(reason, "reason", max: 2000)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        guard let (partner, changed) = try await store.suspendPartner(id, reason: reason!, at: clock()) else {
            throw GatewayError.notFound("partner \(id)")
        }
        guard changed else {
            throw GatewayError.conflict(
                "partner \(id) is suspended already (since \(partner.suspendedAt.map(Timestamp.format) ?? "?"))")
        }
        logger.notice("suspended a partner", metadata: ["partner_id": "\(id)"])
        return partner
    }

    /// Re-activates a suspended partner: its tokens work again and its held deliveries go out, oldest first.
    public func reactivatePartner(_ id: PartnerID) async throws -> Partner {
        guard let (partner, changed) = try await store.reactivatePartner(id, at: clock()) else {
            throw GatewayError.notFound("partner \(id)")
        }
        guard changed else { throw GatewayError.conflict("partner \(id) is not suspended") }
        logger.notice("re-activated a partner", metadata: ["partner_id": "\(id)"])
        onEnqueue()
        return partner
    }
}
