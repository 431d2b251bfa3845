import Foundation
import TakedownModel
import TakedownStore
import Testing

/// The audit trail and the partner-write check: both hold inside the store's own write transaction.
public enum AuditConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "an audit entry commits with the first write of its request, and only then": auditInTransaction,
        "the audit trail pages and filters by actor and target": auditPaging,
        "the partner check sees every stored partner and refuses the write inside the transaction": partnerCheck,
    ]

    static func entry(_ actor: String = "admin:Auditor", target: String? = nil, at offset: TimeInterval = 0)
        -> AuditEntry
    {
        AuditEntry(
            actor: actor, tokenId: .generate(), at: Synthetic.epoch.addingTimeInterval(offset),
            action: "PATCH /v1/partners/{partner_id}", target: target, summary: #"{"name":"x"}"#,
            client: "127.0.0.1")
    }

    struct Refused: Error {}

    static func auditInTransaction(_ store: any GatewayStore) async throws {
        // A write that fails leaves no entry, and gives the entry back to the next write.
        let scope = AuditScope(entry(target: "ptn_first"))
        let doubled = Synthetic.partner(domains: ["audit-\(Synthetic.hex(6)).test"])
        try await AuditScope.$current.withValue(scope) {
            await #expect(throws: Refused.self) {
                try await store.insertPartner(
                    doubled, token: Synthetic.token(partner: doubled.id), webhookSecret: nil,
                    check: { _ in throw Refused() })
            }
            #expect(!scope.isWritten)
            #expect(try await store.auditEntries(actor: nil, target: nil, after: 0, limit: 10).isEmpty)
            // The first write that commits takes the entry; a second write of the same request adds none.
            try await store.insertPartner(doubled, token: Synthetic.token(partner: doubled.id), webhookSecret: nil)
            try await store.insertToken(Synthetic.token(role: .analyst))
        }
        #expect(scope.isWritten)
        let entries = try await store.auditEntries(actor: nil, target: nil, after: 0, limit: 10)
        #expect(entries.map(\.entry) == [scope.entry])
        // Writes outside any request scope write no entry.
        try await store.insertToken(Synthetic.token(role: .analyst))
        #expect(try await store.auditEntries(actor: nil, target: nil, after: 0, limit: 10).count == 1)
    }

    static func auditPaging(_ store: any GatewayStore) async throws {
        var written: [AuditEntry] = []
        for index in 0..<5 {
            let audit = entry(
                index.isMultiple(of: 2) ? "admin:A" : "analyst:B", target: "ptn_\(index % 2)", at: Double(index))
            try await AuditScope.$current.withValue(AuditScope(audit)) {
                try await store.insertToken(Synthetic.token(role: .analyst))
            }
            written.append(audit)
        }
        let first = try await store.auditEntries(actor: nil, target: nil, after: 0, limit: 2)
        #expect(first.map(\.entry) == Array(written.prefix(2)))
        let rest = try await store.auditEntries(actor: nil, target: nil, after: first[1].position, limit: 10)
        #expect(rest.map(\.entry) == Array(written.suffix(3)))
        #expect(
            try await store.auditEntries(actor: "admin:A", target: nil, after: 0, limit: 10).map(\.entry.actor) == [
                "admin:A", "admin:A", "admin:A",
            ])
        #expect(try await store.auditEntries(actor: nil, target: "ptn_1", after: 0, limit: 10).count == 2)
        #expect(try await store.auditEntries(actor: "admin:A", target: "ptn_1", after: 0, limit: 10).isEmpty)
    }

    static func partnerCheck(_ store: any GatewayStore) async throws {
        let first = Synthetic.partner(domains: ["check-\(Synthetic.hex(6)).test"])
        try await store.insertPartner(first, token: Synthetic.token(partner: first.id), webhookSecret: nil)
        let second = Synthetic.partner(domains: ["check-\(Synthetic.hex(6)).test"])
        let seen = SeenPartners()
        try await store.insertPartner(second, token: Synthetic.token(partner: second.id), webhookSecret: nil) {
            stored in
            seen.set(stored.map(\.id))
        }
        #expect(seen.ids.contains(first.id))
        var changed = second
        changed.name = "Renamed"
        await #expect(throws: Refused.self) {
            try await store.updatePartner(changed, webhookSecret: nil) { _ in throw Refused() }
        }
        #expect(try await store.partner(second.id)?.name == second.name)
    }

    final class SeenPartners: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [PartnerID] = []
        func set(_ ids: [PartnerID]) { lock.withLock { stored = ids } }
        var ids: [PartnerID] { lock.withLock { stored } }
    }
}
