import Foundation
import TakedownModel
import TakedownSigning
import TakedownStore

extension Gateway {
    /// A new partner, its first API token and, with a webhook, its signing secret, written together.
    /// The token and the secret are returned once.
    public func createPartner(_ input: PartnerInput) async throws -> (Partner, IssuedToken, webhookSecret: String?) {
        let now = clock()
        let partner = try validated { () throws(ValidationError) in try input.created(id: .generate(), at: now) }
        try await checkRoutingIsFree(partner)
        try await checkPolicyExists(partner)
        let token = Self.newToken(role: .partner, name: "\(partner.name) (first token)", partner: partner.id, at: now)
        let secret = partner.delivery.webhookUrl == nil ? nil : WebhookSignature.newSecret()
        try await store.insertPartner(partner, token: token.record, webhookSecret: secret)
        invalidateRouting()
        return (partner, token, secret)
    }

    public func partner(_ id: PartnerID) async throws -> Partner {
        guard let partner = try await store.partner(id) else { throw GatewayError.notFound("partner \(id)") }
        return partner
    }

    public func partners() async throws -> [Partner] {
        try await store.partners()
    }

    /// Changes a partner. Setting a new `webhook_url` starts a new signing secret, returned once.
    public func updatePartner(_ id: PartnerID, with input: PartnerInput) async throws -> (
        Partner, webhookSecret: String?
    ) {
        let current = try await partner(id)
        let now = clock()
        let updated = try validated { () throws(ValidationError) in try input.applied(to: current, at: now) }
        try await checkRoutingIsFree(updated)
        try await checkPolicyExists(updated)
        let newURL = updated.delivery.webhookUrl != nil && updated.delivery.webhookUrl != current.delivery.webhookUrl
        let secret = newURL ? WebhookSignature.newSecret() : nil
        try await store.updatePartner(updated, webhookSecret: secret)
        invalidateRouting()
        return (updated, secret)
    }

    /// Another token for a partner; earlier ones stay valid until revoked.
    public func createPartnerToken(_ id: PartnerID, name: String?) async throws -> IssuedToken {
        let partner = try await partner(id)
        var v = Validator()
        let checked = name == nil ? "\(partner.name) token" : v.text(name, "name", max: 100)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let token = Self.newToken(role: .partner, name: checked!, partner: id, at: clock())
        try await store.insertToken(token.record)
        return token
    }

    /// A domain or range belongs to one provider only, so a URL never has two recipients.
    func checkRoutingIsFree(_ partner: Partner) async throws {
        var v = Validator()
        for other in try await store.partners() where other.id != partner.id && other.kind == .hostingProvider {
            for (index, domain) in partner.routing.domains.enumerated() where other.routing.domains.contains(domain) {
                v.fail("routing.domains[\(index)]", "is already routed to \(other.id)")
            }
            for (index, range) in partner.routing.ipRanges.enumerated() where other.routing.ipRanges.contains(range) {
                v.fail("routing.ip_ranges[\(index)]", "is already routed to \(other.id)")
            }
        }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
    }

    /// The routing table and the partners behind it, read again after `routingCacheSeconds` or a local
    /// change, so that issuing does not read every partner for every case.
    func routingSnapshot() async throws -> RoutingSnapshot {
        let now = clock()
        if let cached = routing.withLock({ $0 }),
            now.timeIntervalSince(cached.readAt) < configuration.routingCacheSeconds
        {
            return cached
        }
        let partners = try await store.partners()
        let policies = try await slaPolicies()
        let snapshot = RoutingSnapshot(
            table: RoutingTable(partners: partners),
            partners: Dictionary(partners.map { ($0.id, $0) }, uniquingKeysWith: { $1 }),
            policies: Dictionary(policies.map { ($0.id, $0) }, uniquingKeysWith: { $1 }), readAt: now)
        routing.withLock { $0 = snapshot }
        return snapshot
    }

    func invalidateRouting() {
        routing.withLock { $0 = nil }
    }

    /// Runs a validating step, turning its error into the gateway's.
    func validated<T>(_ body: () throws(ValidationError) -> T) throws -> T {
        do { return try body() } catch { throw GatewayError.invalid(error) }
    }
}

/// A routing table with the partners it was built from, their SLA policies, and when they were read.
struct RoutingSnapshot: Sendable {
    var table: RoutingTable
    var partners: [PartnerID: Partner]
    /// SLA policies by id, the default one included.
    var policies: [SLAPolicyID: SLAPolicy]
    var readAt: Date
}
