import Foundation
import Logging
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

/// What every use case reads of the gateway core: the store, the clock, the keys, the settings.
protocol GatewayUseCase: Sendable {
    var gateway: Gateway { get }
}

extension GatewayUseCase {
    var store: any GatewayStore { gateway.store }
    var configuration: GatewayConfiguration { gateway.configuration }
    var templates: NoticeTemplates { gateway.templates }
    var composer: NoticeComposer { gateway.composer }
    var clock: @Sendable () -> Date { gateway.clock }
    var logger: Logger { gateway.logger }
    var onEnqueue: @Sendable () -> Void { gateway.onEnqueue }
    var startedAt: Date { gateway.startedAt }

    func sign(_ payload: Data) throws -> String { try gateway.sign(payload) }
}

/// The audit trail: who did what, read back by staff.
public struct AuditDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Notices: reading them and their documents, answers (one or in bulk), the board and the escalation ladder.
public struct NoticeDesk: GatewayUseCase {
    let gateway: Gateway

    /// The organisation that signs notices.
    public var issuerOrganisation: String { gateway.configuration.issuer.organisation }
    /// The public keys notices verify against.
    public var jwks: JWKSet { gateway.jwks }

    /// The language a notice to a partner of `locale` is written in.
    public func language(for locale: String) -> String { gateway.templates.language(for: locale) }

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Cases: submission (with its preview), routing items left unrouted, and accepting a proposed host.
public struct CaseDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Removal figures: rows, reports, scorecards and the DSA transparency report.
public struct FigureDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Hash and URL lists: entries, versions and exports, the change feed, feedback, sources and NCMEC exchange.
public struct HashListDesk: GatewayUseCase {
    let gateway: Gateway

    /// The list settings clients are told (poll intervals, retention).
    public var settings: HashListSettings { gateway.configuration.hashLists }

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Deliveries: the outbox as partners and staff see it, retries, endpoints and webhook secrets.
public struct DeliveryDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Partners: the directory, suspension, and what a partner changes of its own.
public struct PartnerDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// API tokens: issuing, authenticating and revoking them.
public struct TokenDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Police holds: cases held back from notice, their release, delay and escalation.
public struct HoldDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Referrals between hotlines: sent and received, their decisions and status reports.
public struct ReferralDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

/// Removal clocks: SLA policies and URL verifications.
public struct SLAPolicyDesk: GatewayUseCase {
    let gateway: Gateway

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }
}

extension Gateway {
    public var auditDesk: AuditDesk { AuditDesk(gateway: self) }
    public var logDesk: LogDesk { LogDesk(gateway: self) }
    public var noticeDesk: NoticeDesk { NoticeDesk(gateway: self) }
    public var caseDesk: CaseDesk { CaseDesk(gateway: self) }
    public var figureDesk: FigureDesk { FigureDesk(gateway: self) }
    public var hashListDesk: HashListDesk { HashListDesk(gateway: self) }
    public var deliveryDesk: DeliveryDesk { DeliveryDesk(gateway: self) }
    public var partnerDesk: PartnerDesk { PartnerDesk(gateway: self) }
    public var tokenDesk: TokenDesk { TokenDesk(gateway: self) }
    public var holdDesk: HoldDesk { HoldDesk(gateway: self) }
    public var referralDesk: ReferralDesk { ReferralDesk(gateway: self) }
    public var slaPolicyDesk: SLAPolicyDesk { SLAPolicyDesk(gateway: self) }
}
