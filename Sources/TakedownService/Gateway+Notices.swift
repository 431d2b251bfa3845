import Foundation
import Metrics
import TakedownDocuments
import TakedownModel
import TakedownStore

extension NoticeDesk {
    public static let maxPageSize = 500

    /// Notices after a cursor in issue order: a partner sees only its own. A partner's first read marks
    /// a notice delivered.
    public func notices(
        after cursor: String?, limit: Int, for principal: Principal, filter: NoticeFilter = NoticeFilter()
    )
        async throws -> (notices: [Notice], nextCursor: String)
    {
        let position = try Gateway.position(after: cursor)
        guard (1...Self.maxPageSize).contains(limit) else {
            throw GatewayError.badParameter(name: "limit", reason: "must be between 1 and \(Self.maxPageSize)")
        }
        var page = try await store.notices(after: position, limit: limit, partner: principal.partnerID, filter: filter)
        page = try await markRetrieved(page, by: principal)
        return (page, Cursor.encode(page.last?.position ?? position))
    }

    /// The same page as `notices`, lean: ids, states and clocks only, for a client that polls often and
    /// fetches what changed. A lean read is not a retrieval: it marks nothing delivered.
    public func noticeStates(
        after cursor: String?, limit: Int, for principal: Principal, filter: NoticeFilter = NoticeFilter()
    ) async throws -> (notices: [NoticeState], nextCursor: String) {
        let position = try Gateway.position(after: cursor)
        guard (1...Self.maxPageSize).contains(limit) else {
            throw GatewayError.badParameter(name: "limit", reason: "must be between 1 and \(Self.maxPageSize)")
        }
        let page = try await store.noticeStates(
            after: position, limit: limit, partner: principal.partnerID, filter: filter)
        return (page, Cursor.encode(page.last?.position ?? position))
    }

    /// One notice; another partner's is reported as not found.
    public func notice(_ id: NoticeID, for principal: Principal) async throws -> Notice {
        guard let notice = try await store.notice(id), principal.isStaff || notice.partnerId == principal.partnerID
        else { throw GatewayError.notFound("notice \(id)") }
        return try await markRetrieved([notice], by: principal)[0]
    }

    /// Applies a provider's or staff member's answer. Repeating it changes nothing; a forbidden step is a
    /// conflict.
    public func answer(_ id: NoticeID, _ answer: NoticeAnswer, by principal: Principal) async throws -> Notice {
        switch answer {
        case .withdraw:
            guard principal.isStaff else { throw GatewayError.forbidden("only staff withdraw notices") }
        case .decideDispute:
            guard principal.isStaff else { throw GatewayError.forbidden("only staff decide disputes") }
        case .retrieved, .acknowledge, .removal, .unable, .dispute, .appeal:
            guard !principal.isStaff else {
                throw GatewayError.forbidden("only the recipient answers a notice")
            }
        }
        // Check visibility first, so another partner's notice is a 404 and never a 409.
        let current = try await notice(id, for: principal)
        if case .removal(_, let removedAt?, _) = answer {
            if removedAt > clock().addingTimeInterval(300) {
                throw GatewayError.invalid(
                    ValidationError([FieldError(name: "removed_at", reason: "is in the future")]))
            }
            // Time to removal counts from issue; an earlier time would make the figures negative.
            if removedAt < current.issuedAt {
                throw GatewayError.invalid(
                    ValidationError([
                        FieldError(
                            name: "removed_at",
                            reason:
                                "is before the notice was issued (\(Timestamp.format(current.issuedAt))); give the issue time or later"
                        )
                    ]))
            }
        }
        let now = clock()
        let actor = principal.actor
        // A withdrawal and a dispute decision are pushed to the provider; the other answers come from it.
        var outbox: @Sendable (Notice) throws -> [Delivery] = { _ in [] }
        var pushed: (type: String, reason: String)?
        switch answer {
        case .withdraw(let reason): pushed = (WebhookEvent.withdrawn, reason)
        case .decideDispute(_, let reason): pushed = (WebhookEvent.disputeDecided, reason)
        default: pushed = nil
        }
        if let pushed, let partner = try await store.partner(current.partnerId) {
            outbox = { [self] notice in
                try gateway.deliveries(for: notice, to: partner, type: pushed.type, at: now, reason: pushed.reason)
            }
        }
        do {
            // A signed document never changes: the writer reads it only for an event that carries it, and
            // the answer takes it from the read above.
            let updated = try await store.updateNotices([id], documents: pushed != nil, outbox: outbox) { notice in
                try notice.apply(answer, at: now, actor: actor)
            }
            if pushed != nil { onEnqueue() }
            guard var notice = updated.first else { throw GatewayError.notFound("notice \(id)") }
            if pushed == nil { (notice.document, notice.jws) = (current.document, current.jws) }
            if current.status != .removed, notice.status == .removed, let seconds = notice.timeToRemoval {
                Timer(label: "takedown_time_to_removal_seconds", dimensions: [("partner", notice.partnerId.rawValue)])
                    .recordNanoseconds(Int64(seconds * 1e9))
            }
            return notice
        } catch let error as TransitionError {
            switch error {
            case .forbidden(let from, let name):
                throw GatewayError.conflict("a notice that is \(from.rawValue) cannot take \(name)")
            case .unknownURLs(let urls):
                throw GatewayError.invalid(
                    ValidationError(
                        urls.map { FieldError(name: "urls", reason: "\($0) is not an item of this notice") }))
            case .sameDecider(let actor):
                throw GatewayError.forbidden(
                    "\(actor) upheld this dispute; the appeal is decided by another staff member")
            case .alreadyDecided(let detail):
                throw GatewayError.conflict(detail)
            }
        }
    }

    /// The canonical document of a notice, decoded.
    public func document(of notice: Notice) throws -> NoticeDocument {
        try NoticeDocument.decode(notice.document)
    }

    /// The notice text in a language (the recipient's locale unless one is asked for).
    public func text(of notice: Notice, language: String?) throws -> String {
        let document = try document(of: notice)
        return templates.text(of: document, status: notice.status, language: language ?? document.language)
    }

    /// The notice as XARF v4 reports, one per item: how many, and the reports of a range of items, so a
    /// large notice can be written a slice at a time.
    public func xarf(of notice: Notice) throws -> (count: Int, reports: @Sendable (Range<Int>) -> [[String: Any]]) {
        let document = try document(of: notice)
        let issuer = configuration.issuer
        let items = notice.items
        return (
            document.items.count,
            { XARFReport.reports(for: document, items: items, issuer: issuer, range: $0) }
        )
    }

    /// A draft DSA statement of reasons for the provider of `notice`; a referral to a peer hotline has none.
    public func statementOfReasons(of notice: Notice) throws -> StatementOfReasons {
        let document = try document(of: notice)
        guard !document.isReferral else {
            throw GatewayError.conflict(
                "notice \(notice.id) is a referral to a hotline; statements of reasons are for providers")
        }
        return StatementOfReasons(notice: notice, document: document, now: clock())
    }

    private func markRetrieved(_ notices: [Notice], by principal: Principal) async throws -> [Notice] {
        guard case .partner = principal else { return notices }
        let fresh = notices.filter { $0.status == .issued }.map(\.id)
        guard !fresh.isEmpty else { return notices }
        let now = clock()
        let actor = principal.actor
        let changed = try await store.updateNotices(fresh) { notice in
            try notice.apply(.retrieved, at: now, actor: actor)
        }
        let byID = Dictionary(changed.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        return notices.map { byID[$0.id] ?? $0 }
    }
}
