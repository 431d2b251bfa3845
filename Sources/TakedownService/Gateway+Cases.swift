import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore

/// The answer to `POST /v1/cases`: the notices issued and the items nobody hosts.
public struct CaseReceipt: Codable, Sendable, Equatable {
    public struct IssuedNotice: Codable, Sendable, Equatable {
        public var id: NoticeID
        public var partnerId: PartnerID
        public var items: [String]
    }

    public struct Unrouted: Codable, Sendable, Equatable {
        public var url: String
        public var reason: String
        /// The abuse contact RDAP named for it, for an analyst to accept in one call.
        public var proposal: RoutingProposal?

        public init(url: String, reason: String, proposal: RoutingProposal? = nil) {
            self.url = url
            self.reason = reason
            self.proposal = proposal
        }
    }

    /// A case held for the police: no notice yet, and who will get which URLs at release.
    public struct Held: Codable, Sendable, Equatable {
        public var id: HoldID
        public var policePartnerId: PartnerID
        public var endsAt: Date
        public var planned: [PoliceHold.Planned]
    }

    public var id: CaseID
    public var reference: String
    public var notices: [IssuedNotice]
    public var unrouted: [Unrouted]
    public var hold: Held?
}

/// A request's `Idempotency-Key` with the hash of its body.
public struct IdempotencyKey: Sendable {
    public var key: String
    public var bodyHash: String

    public init(key: String, body: some DataProtocol) {
        self.key = key
        self.bodyHash = sha256Hex(body)
    }
}

extension CaseDesk {
    /// Routes every item, issues and signs one notice per provider, and stores the case, its notices
    /// and the idempotency record in one transaction. A repeated key returns the first receipt.
    public func submitCase(
        _ submission: CaseSubmission, by principal: Principal, idempotency: IdempotencyKey? = nil
    ) async throws -> CaseReceipt {
        let scope = "cases:\(principal.tokenID)"
        if let idempotency, let earlier = try await store.idempotencyRecord(scope: scope, key: idempotency.key) {
            return try replay(earlier, bodyHash: idempotency.bodyHash)
        }
        let now = clock()
        var record = try gateway.validated { () throws(ValidationError) in
            try submission.validated(id: .generate(), at: now, by: principal.actor)
        }
        if let hold = submission.policeHold {
            return try await gateway.holdDesk.submitHeldCase(
                &record, hold: hold, by: principal, scope: scope, idempotency: idempotency, at: now)
        }
        let (notices, deliveries, unrouted) = try await issueNotices(for: &record, at: now, actor: principal.actor)

        let receipt = CaseReceipt(
            id: record.id, reference: record.reference,
            notices: notices.map { .init(id: $0.id, partnerId: $0.partnerId, items: $0.items.map(\.url)) },
            unrouted: unrouted)
        let stored = try idempotency.map {
            IdempotencyRecord(
                scope: scope, key: $0.key, requestHash: $0.bodyHash, status: 201,
                body: try WireFormat.encoder().encode(receipt), createdAt: now)
        }
        if let earlier = try await store.insertCase(
            record, notices: notices, deliveries: deliveries, idempotency: stored),
            let idempotency
        {
            return try replay(earlier, bodyHash: idempotency.bodyHash)
        }
        if !deliveries.isEmpty { onEnqueue() }
        logger.info(
            "case submitted",
            metadata: ["case_id": "\(record.id)", "notices": "\(notices.count)", "unrouted": "\(unrouted.count)"])
        return receipt
    }

    /// Traces and routes every item of a new case, and issues one signed notice (with its deliveries) per
    /// recipient, in the order recipients first appear. Items nobody takes are marked unrouted. With
    /// `referrals` off, no item goes to a peer hotline (a referral we accepted is never referred on).
    func issueNotices(for record: inout Case, at now: Date, actor: String, referrals: Bool = true) async throws -> (
        notices: [Notice], deliveries: [Delivery], unrouted: [CaseReceipt.Unrouted]
    ) {
        let (snapshot, groups, unrouted) = try await plan(for: &record, at: now, referrals: referrals)
        var notices: [Notice] = []
        var deliveries: [Delivery] = []
        for (partnerID, indices) in groups {
            let items = indices.map { record.items[$0] }
            guard let partner = snapshot.partners[partnerID] else {
                throw GatewayError.notFound("partner \(partnerID)")
            }
            let policy = snapshot.policies[partner.slaPolicyId] ?? gateway.slaPolicyDesk.defaultPolicy
            let notice = try issue(for: record, items: items, to: partner, policy: policy, at: now, actor: actor)
            for index in indices { record.items[index].noticeId = notice.id }
            notices.append(notice)
            deliveries += try gateway.deliveries(for: notice, to: partner, type: WebhookEvent.issued, at: now)
        }
        return (notices, deliveries, unrouted)
    }

    /// Traces and routes every item of a new case, and groups the routed items by recipient (indices into
    /// `record.items`), in the order recipients first appear. Items nobody takes are marked unrouted.
    func plan(for record: inout Case, at now: Date, referrals: Bool) async throws -> (
        snapshot: RoutingSnapshot, groups: [(PartnerID, [Int])], unrouted: [CaseReceipt.Unrouted]
    ) {
        let (snapshot, routes) = try await routes(for: &record, at: now, referrals: referrals)
        var groups: [(PartnerID, [Int])] = []
        var unrouted: [CaseReceipt.Unrouted] = []
        for (index, route) in routes.enumerated() {
            switch route {
            case .success(let partner):
                if let at = groups.firstIndex(where: { $0.0 == partner }) {
                    groups[at].1.append(index)
                } else {
                    groups.append((partner, [index]))
                }
            case .failure(let reason):
                record.items[index].unroutedReason = reason.rawValue
                unrouted.append(
                    .init(
                        url: record.items[index].url, reason: reason.rawValue,
                        proposal: record.items[index].trace?.proposal))
            }
        }
        return (snapshot, groups, unrouted)
    }

    /// Traces and routes every item of a case, RDAP included, keeping each item's trace; writes nothing.
    func routes(for record: inout Case, at now: Date, referrals: Bool) async throws -> (
        snapshot: RoutingSnapshot, routes: [Result<PartnerID, UnroutedReason>]
    ) {
        let snapshot = try await gateway.routingSnapshot()
        let table = snapshot.table
        let facts = try await hostingFacts(of: record.items, snapshot: snapshot)
        var routes: [Result<PartnerID, UnroutedReason>] = []
        routes.reserveCapacity(record.items.count)
        for (index, item) in record.items.enumerated() {
            let (route, trace) = self.route(item, facts[index], table: table, at: now, referrals: referrals)
            record.items[index].trace = trace
            routes.append(route)
        }
        try await askRDAP(about: &record, routes: &routes, facts: facts, table: table, referrals: referrals)
        return (snapshot, routes)
    }

    public func caseRecord(_ id: CaseID) async throws -> Case {
        guard let record = try await store.caseRecord(id) else { throw GatewayError.notFound("case \(id)") }
        return record
    }

    /// A page of cases in submission order, and the cursor after it.
    public func cases(_ query: CaseQuery) async throws -> (cases: [Case], nextCursor: String) {
        let page = try await store.cases(query)
        return (page.map(\.record), Cursor.encode(page.last?.position ?? query.after))
    }

    /// Issues a notice for items that had no recipient, to a provider named by staff.
    public func routeItems(
        of caseID: CaseID, urls: [String], to partnerID: PartnerID, by principal: Principal
    ) async throws -> Notice {
        let record = try await caseRecord(caseID)
        if let hold = try await store.hold(ofCase: caseID), hold.status == .held {
            throw GatewayError.conflict(
                "case \(caseID) is held for the police (\(hold.id)); its notices wait for release")
        }
        let partner = try await store.partner(partnerID)
        var v = Validator()
        if let partner {
            if partner.kind == .lawEnforcement {
                v.fail("partner_id", "is a law-enforcement partner; takedown notices go to providers and hotlines")
            }
        } else {
            v.fail("partner_id", "no such partner")
        }
        if urls.isEmpty { v.fail("url", "is required") }
        var items: [CaseItem] = []
        for url in urls {
            guard let item = record.items.first(where: { $0.url == url }) else {
                v.fail("url", "is not an item of case \(caseID)")
                continue
            }
            if let notice = item.noticeId { v.fail("url", "is already carried by notice \(notice)") }
            items.append(item)
        }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let now = clock()
        let policy = try await gateway.policy(for: partner!)
        let notice = try issue(for: record, items: items, to: partner!, policy: policy, at: now, actor: principal.actor)
        let deliveries = try gateway.deliveries(for: notice, to: partner!, type: WebhookEvent.issued, at: now)
        do {
            let stored = try await store.routeItems(of: caseID, urls: urls, notice: notice, deliveries: deliveries)
            if !deliveries.isEmpty { onEnqueue() }
            return stored
        } catch StoreError.conflict(let detail) {
            throw GatewayError.conflict(detail)
        }
    }

    /// Composes, canonicalises and signs one notice, its deadline from the recipient's SLA policy.
    func issue(
        for record: Case, items: [CaseItem], to partner: Partner, policy: SLAPolicy, at now: Date, actor: String
    ) throws -> Notice {
        let partnerID = partner.id
        let id = NoticeID.generate()
        let deadline = now.addingTimeInterval(TimeInterval(policy.deadlineSeconds))
        let document = composer.document(
            id: id, for: record, items: items, recipient: partner, issuedAt: now, deadlineAt: deadline)
        let payload = try document.canonicalJSON()
        var notice = Notice(
            id: id, caseId: record.id, partnerId: partnerID, status: .issued, issuedAt: now, deadlineAt: deadline,
            items: items.map { NoticeItem(url: $0.url) }, document: payload, jws: try sign(payload),
            timeline: [TimelineEvent(at: now, event: "issued", actor: actor, detail: "to \(partnerID)")])
        notice.slaPolicyId = policy.id
        notice.verifyDueAt = now.addingTimeInterval(configuration.verifyInterval)
        return notice
    }

    func replay(_ record: IdempotencyRecord, bodyHash: String) throws -> CaseReceipt {
        guard record.requestHash == bodyHash else { throw GatewayError.idempotencyMismatch }
        return try WireFormat.decoder().decode(CaseReceipt.self, from: record.body)
    }
}
