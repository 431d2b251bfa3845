import Foundation
import Synchronization
import TakedownModel
import TakedownSigning
import TakedownStore

extension PartnerDesk {
    /// A new partner, its first API token and, with a webhook, its signing secret, written together.
    /// The token and the secret are returned once.
    public func createPartner(_ input: PartnerInput) async throws -> (Partner, IssuedToken, webhookSecret: String?) {
        let now = clock()
        var partner = try gateway.validated { () throws(ValidationError) in try input.created(id: .generate(), at: now)
        }
        try await pinPeerKeys(of: &partner)
        try await gateway.checkPolicyExists(partner)
        let token = TokenDesk.newToken(
            role: .partner, name: "\(partner.name) (first token)", partner: partner.id, at: now)
        let secret = partner.delivery.webhookUrl == nil ? nil : WebhookSignature.newSecret()
        try await store.insertPartner(
            partner, token: token.record, webhookSecret: secret, check: Gateway.routingIsFree(for: partner))
        gateway.invalidateRouting()
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
        var updated = try gateway.validated { () throws(ValidationError) in try input.applied(to: current, at: now) }
        if updated.kind != current.kind { try await checkKindChange(of: current, to: &updated) }
        try await pinPeerKeys(of: &updated)
        try await gateway.checkPolicyExists(updated)
        let newURL = updated.delivery.webhookUrl != nil && updated.delivery.webhookUrl != current.delivery.webhookUrl
        let secret = newURL ? WebhookSignature.newSecret() : nil
        try await store.updatePartner(updated, webhookSecret: secret, check: Gateway.routingIsFree(for: updated))
        gateway.invalidateRouting()
        return (updated, secret)
    }

    /// A peer gateway given without keys gets the ones it publishes, pinned now.
    func pinPeerKeys(of partner: inout Partner) async throws {
        guard let peer = partner.delivery.gateway, peer.keys.isEmpty else { return }
        partner.delivery.gateway?.keys = try await gateway.referralDesk.fetchPeerKeys(peer.baseUrl)
        partner.delivery.gateway?.keysPinnedAt = clock()
    }

    /// A partner that changes kind keeps no hash-list grant its new kind may not hold (the change is
    /// refused until staff revoke them), and one that stops hosting gives up its routing.
    func checkKindChange(of current: Partner, to updated: inout Partner) async throws {
        let barred = try await store.hashLists(grantedTo: current.id).filter { !$0.admits(updated.kind) }
        if !barred.isEmpty {
            throw GatewayError.conflict(
                "a \(updated.kind.rawValue) may not hold the grants to "
                    + barred.map { "\($0.id)" }.joined(separator: ", ") + "; revoke them before changing kind")
        }
        switch updated.kind {
        case .hostingProvider: updated.routing.countries = []
        case .hotline: updated.routing = RoutingRules(countries: updated.routing.countries)
        case .lawEnforcement: updated.routing = RoutingRules()
        }
        if updated.kind != .hotline { updated.delivery.gateway = nil }
    }

}

/// A routing table with the partners it was built from, their SLA policies, and when they were read.
struct RoutingSnapshot: Sendable {
    var table: RoutingTable
    var partners: [PartnerID: Partner]
    /// SLA policies by id, the default one included.
    var policies: [SLAPolicyID: SLAPolicy]
    var readAt: Date
    var asnRanges = ASNRangeCache()
}

/// The AS range of each address looked up since the routing snapshot was read (nil: the table has none),
/// so a run of cases on the same hosts asks the store once per address. At most `capacity` addresses:
/// when full it starts again, which bounds it against a case stream of ever new addresses.
final class ASNRangeCache: Sendable {
    static let capacity = 50_000
    private let found = Mutex<[IPAddress: ASNRange?]>([:])

    /// The cached answers for the addresses, and the addresses not asked yet.
    func lookUp(_ addresses: [IPAddress]) -> (known: [IPAddress: ASNRange], missing: [IPAddress]) {
        found.withLock { found in
            var known: [IPAddress: ASNRange] = [:]
            var missing: [IPAddress] = []
            for address in Set(addresses) {
                switch found[address] {
                case .some(.some(let range)): known[address] = range
                case .some(.none): break
                case .none: missing.append(address)
                }
            }
            return (known, missing)
        }
    }

    func keep(_ answers: [IPAddress: ASNRange], asked: [IPAddress]) {
        found.withLock { found in
            if found.count + asked.count > Self.capacity { found.removeAll(keepingCapacity: true) }
            for address in asked { found[address] = .some(answers[address]) }
        }
    }
}

/// The core's part: what several use cases share.
extension Gateway {
    /// The one-owner rule, checked by the store inside its write transaction (two writers at once cannot
    /// both claim a domain).
    static func routingIsFree(for partner: Partner) -> @Sendable ([Partner]) throws -> Void {
        { stored in
            let conflicts = RoutingConflicts.find(partner, among: stored)
            if !conflicts.isEmpty { throw GatewayError.invalid(ValidationError(conflicts)) }
        }
    }

    /// The routing table and the partners behind it, read again after `routingCacheSeconds` or a local
    /// change, so that issuing does not read every partner for every case. The AS ranges intake found for
    /// addresses live as long as the snapshot: an `asn import` is seen within the same interval.
    func routingSnapshot() async throws -> RoutingSnapshot {
        let now = clock()
        if let cached = routing.withLock({ $0 }),
            now.timeIntervalSince(cached.readAt) < configuration.routingCacheSeconds
        {
            return cached
        }
        let partners = try await store.partners()
        let policies = try await slaPolicyDesk.slaPolicies()
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
