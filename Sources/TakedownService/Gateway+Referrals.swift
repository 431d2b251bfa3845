import Crypto
import Foundation
import Synchronization
import TakedownDocuments
import TakedownModel
import TakedownSigning
import TakedownStore

/// A signed message from a peer hotline's gateway, checked: who sent it and the payload it signed.
struct PeerMessage: Sendable {
    var sender: Partner
    var payload: Data
}

extension ReferralDesk {
    // MARK: Receiving referrals

    /// Checks and records a referral a peer hotline's gateway posted. The signature must hold under the
    /// keys pinned for the sender named by `iss`; `aud` must be this gateway; the document must be recent.
    /// A repeated delivery of one referral changes nothing and returns the stored one (`created` false);
    /// another document under an id already received is a replay. Every refusal is recorded.
    public func receiveReferral(_ body: Data) async throws -> (referral: Referral, created: Bool) {
        let now = clock()
        let jws = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = try await checkPeerMessage(jws, at: now, recordRefusal: true)
        let document: NoticeDocument
        do {
            document = try NoticeDocument.decode(message.payload)
        } catch {
            throw try await refuse(
                .invalid(ValidationError([FieldError(name: "body", reason: "is not a referral document")])),
                sender: message.sender.id, remoteId: nil, at: now)
        }
        var v = Validator()
        if !document.isReferral { v.fail("type", "must be referral") }
        if document.items.isEmpty || document.items.count > CaseSubmission.maxItems {
            v.fail("items", "must hold 1 to \(CaseSubmission.maxItems) items")
        }
        if PrefixedIdentifierSyntax.isReasonable(document.jti) == false { v.fail("jti", "must be a short identifier") }
        if !v.errors.isEmpty {
            throw try await refuse(
                .invalid(ValidationError(v.errors)), sender: message.sender.id, remoteId: nil, at: now)
        }
        let incoming = Referral(
            senderId: message.sender.id, remoteId: document.jti, state: .received, receivedAt: now, jws: jws,
            document: message.payload)
        let (stored, inserted) = try await store.insertReferral(incoming)
        if !inserted && stored.jws != jws {
            throw try await refuse(
                .conflict("replay: \(document.jti) was received before with other content (as \(stored.id))"),
                sender: message.sender.id, remoteId: document.jti, at: now)
        }
        if inserted {
            logger.info(
                "referral received",
                metadata: ["referral_id": "\(stored.id)", "sender": "\(message.sender.id)", "jti": "\(document.jti)"])
        }
        // A trusted peer's referral is taken at once; a repeated delivery finishes what a crash cut short.
        if stored.state == .received, message.sender.delivery.gateway?.trusted == true {
            do {
                return (try await acceptReferral(stored.id, actor: "peer:\(message.sender.id)"), inserted)
            } catch {
                // Decided meanwhile, or items this gateway cannot take as a case: it stays for an analyst.
                logger.warning(
                    "a trusted peer's referral was not accepted at once",
                    metadata: ["referral_id": "\(stored.id)", "error": "\(error)"])
                return (try await referral(stored.id), inserted)
            }
        }
        return (stored, inserted)
    }

    /// Checks a compact JWS from a peer: sender by `iss`, signature under its pinned keys, `aud` this
    /// gateway, `iat` neither older than `referralMaxAge` nor in the future. Refusals throw, recorded as
    /// refused referrals when `recordRefusal`.
    func checkPeerMessage(_ jws: String, at now: Date, recordRefusal: Bool) async throws -> PeerMessage {
        struct Claims: Decodable {
            var iss: String?
            var aud: String?
            var iat: Int?
            var jti: String?
        }
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        // The body's size is bounded by the API (`TAKEDOWN_MAX_BODY_BYTES`), as a case's is.
        guard parts.count == 3,
            let unverified = Base64URL.decode(String(parts[1])),
            let claims = try? JSONDecoder().decode(Claims.self, from: unverified), let issuer = claims.iss
        else {
            throw try await refuse(
                .invalid(ValidationError([FieldError(name: "body", reason: "is not a compact JWS with an iss claim")])),
                sender: nil, remoteId: nil, at: now, record: recordRefusal)
        }
        let remoteId = claims.jti.flatMap { PrefixedIdentifierSyntax.isReasonable($0) ? $0 : nil }
        // The routing snapshot's partners: read again after `routingCacheSeconds` or a change made here.
        let partners = try await gateway.routingSnapshot().partners.values
        guard let sender = partners.first(where: { $0.kind == .hotline && $0.delivery.gateway?.baseUrl == issuer })
        else {
            throw try await refuse(
                .forbidden("\(issuer.prefix(200)) is not a peer hotline registered here"), sender: nil,
                remoteId: remoteId, at: now, record: recordRefusal)
        }
        guard sender.status == .active else {
            throw try await refuse(
                .forbidden("peer \(sender.id) is suspended"), sender: sender.id, remoteId: remoteId, at: now,
                record: recordRefusal)
        }
        let keys = JWKSet(peerKeys: sender.delivery.gateway?.keys ?? [])
        let payload: Data
        do {
            (_, payload) = try JWS.verify(jws, keys: keys)
        } catch {
            let detail: String
            switch error {
            case .malformed: detail = "the JWS is malformed"
            case .unsupportedAlgorithm(let alg): detail = "algorithm \(alg.prefix(40)) is not accepted; use EdDSA"
            case .unknownKey(let kid):
                detail =
                    "key \(kid.prefix(128)) is not one \(sender.id) published (keys pinned at "
                    + "\(Timestamp.format(sender.delivery.gateway?.keysPinnedAt ?? now)))"
            case .badSignature: detail = "the signature does not verify"
            }
            throw try await refuse(
                .signatureRefused(detail), sender: sender.id, remoteId: remoteId, at: now, record: recordRefusal)
        }
        let base = composer.publicURL
        if claims.aud != base {
            throw try await refuse(
                .forbidden("addressed to \(claims.aud?.prefix(200) ?? "nobody"), not to this gateway (\(base))"),
                sender: sender.id, remoteId: remoteId, at: now, record: recordRefusal)
        }
        let issued = Date(timeIntervalSince1970: TimeInterval(claims.iat ?? 0))
        if claims.iat == nil || issued < now.addingTimeInterval(-configuration.referralMaxAge)
            || issued > now.addingTimeInterval(300)
        {
            throw try await refuse(
                .conflict("replay: issued at \(Timestamp.format(issued)), outside the accepted window"),
                sender: sender.id, remoteId: remoteId, at: now, record: recordRefusal)
        }
        return PeerMessage(sender: sender, payload: payload)
    }

    /// Records a refused referral (when `record`) and returns the error to throw.
    func refuse(_ error: GatewayError, sender: PartnerID?, remoteId: String?, at now: Date, record: Bool = true)
        async throws -> GatewayError
    {
        if record {
            let reason: String
            switch error {
            case .invalid(let validation):
                reason = validation.errors.map { "\($0.name) \($0.reason)" }.joined(separator: "; ")
            case .forbidden(let detail), .conflict(let detail), .signatureRefused(let detail): reason = detail
            default: reason = "\(error)"
            }
            _ = try await store.insertReferral(
                Referral(
                    senderId: sender, remoteId: remoteId, state: .refused, receivedAt: now, jws: nil, document: nil,
                    reason: reason))
            logger.notice(
                "referral refused", metadata: ["sender": "\(sender?.rawValue ?? "unknown")", "reason": "\(reason)"])
        }
        return error
    }

    public func referral(_ id: ReferralID) async throws -> Referral {
        guard let referral = try await store.referral(id) else { throw GatewayError.notFound("referral \(id)") }
        return referral
    }

    public func incomingReferrals(_ query: ReferralQuery) async throws -> [Referral] {
        try await store.referrals(query)
    }

    /// Takes on a received referral: its items become a case here, routed and noticed as any case (but
    /// never referred on), all in one transaction with the decision.
    public func acceptReferral(_ id: ReferralID, actor: String) async throws -> Referral {
        let referral = try await self.referral(id)
        guard referral.state == .received, let payload = referral.document, let sender = referral.senderId else {
            throw GatewayError.conflict("referral \(id) is \(referral.state.rawValue), not received")
        }
        let document = try NoticeDocument.decode(payload)
        let now = clock()
        let submission = CaseSubmission(
            reference: String("\(sender)/\(document.caseReference)".prefix(200)),
            category: .init(ukGrade: document.category.ukGrade, classification: document.category.classification),
            mediaType: document.mediaType,
            notes: "Referral \(id) from \(sender) (\(document.issuer.organisation)), their notice \(document.jti)",
            items: document.items.map { item in
                .init(
                    url: item.url, observedAt: Timestamp.parse(item.observedAt), ip: item.ip,
                    hashes: .init(
                        md5: item.hashes.md5, sha1: item.hashes.sha1, sha256: item.hashes.sha256,
                        pdq: item.hashes.pdq, pdqQuality: item.hashes.pdqQuality, photodna: item.hashes.photodna))
            })
        var record = try gateway.validated { () throws(ValidationError) in
            try submission.validated(id: .generate(), at: now, by: actor)
        }
        let (notices, deliveries, _) = try await gateway.caseDesk.issueNotices(
            for: &record, at: now, actor: actor, referrals: false)
        do {
            let accepted = try await store.acceptReferral(
                id, case: record, notices: notices, deliveries: deliveries, by: actor, at: now)
            if !deliveries.isEmpty { onEnqueue() }
            return accepted
        } catch StoreError.conflict(let detail) {
            throw GatewayError.conflict(detail)
        }
    }

    public func declineReferral(_ id: ReferralID, reason: String, actor: String) async throws -> Referral {
        var v = Validator()
        let reason = v.text(reason, "reason", max: 2000)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        do {
            return try await store.declineReferral(id, reason: reason!, by: actor, at: clock())
        } catch StoreError.notFound {
            throw GatewayError.notFound("referral \(id)")
        } catch StoreError.conflict(let detail) {
            throw GatewayError.conflict(detail)
        }
    }

    // MARK: Telling the sender

    /// Referrals looked at per round of `reportReferrals`.
    static let reportBatch = 200

    /// One round of status updates: for decided referrals the sender has not heard the last of, the state
    /// now (declined, or what the notices issued here show), signed and queued to the sender when it
    /// changed. Returns how many updates were queued. Rounds walk the referrals in turn, so old ones that
    /// stay open never starve new ones.
    @discardableResult
    public func reportReferrals() async throws -> Int {
        let after = gateway.referralReportCursor.withLock { $0 }
        let batch = try await store.referralsToReport(after: after, limit: Self.reportBatch)
        gateway.referralReportCursor.withLock { $0 = batch.count < Self.reportBatch ? 0 : batch.last?.position ?? 0 }
        guard !batch.isEmpty else { return 0 }
        let partners = Dictionary(try await store.partners().map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        var queued = 0
        for referral in batch {
            guard let senderID = referral.senderId, let remoteId = referral.remoteId,
                let sender = partners[senderID], let peer = sender.delivery.gateway
            else { continue }
            let state = try await reportedState(of: referral)
            guard state.digest != referral.report.digest else { continue }
            let now = clock()
            let update = ReferralUpdate(
                iss: composer.publicURL, aud: peer.baseUrl, iat: Int(now.timeIntervalSince1970),
                jti: "upd_" + UUID().uuidString.lowercased(), referral: remoteId, receivedAs: referral.id.rawValue,
                sequence: referral.report.sequence + 1, status: state.status, at: Timestamp.format(state.at),
                reason: state.status == .declined ? referral.reason : nil, notices: state.notices, items: state.items)
            let jws = try sign(try update.canonicalJSON())
            let delivery = Delivery(
                noticeId: NoticeID(rawValue: remoteId), partnerId: senderID, channel: .referral,
                endpoint: peer.baseUrl + "/v1/referral-updates", eventType: "referral.\(state.status.rawValue)",
                eventId: update.jti, payload: Data(jws.utf8), nextAttemptAt: now, createdAt: now, updatedAt: now)
            if try await store.recordReferralReport(
                referral.id, after: referral.report.sequence, digest: state.digest, done: state.done,
                delivery: delivery)
            {
                queued += 1
            }
        }
        if queued > 0 { onEnqueue() }
        return queued
    }

    /// What an update about a referral says now, and whether nothing more can follow.
    struct ReportedState {
        var status: ReferralUpdate.Status
        var at: Date
        var notices: Int
        var items: [ReferralUpdate.Item]
        var done: Bool
        var digest: String
    }

    func reportedState(of referral: Referral) async throws -> ReportedState {
        let urls = (referral.document.flatMap { try? NoticeDocument.decode($0) })?.items.map(\.url) ?? []
        if referral.state == .declined {
            return ReportedState(
                status: .declined, at: referral.decidedAt ?? referral.receivedAt, notices: 0,
                items: urls.map { .init(url: $0) }, done: true, digest: sha256Hex(Data("declined".utf8)))
        }
        var notices: [Notice] = []
        var record: Case?
        if let caseId = referral.caseId, let found = try await store.caseRecord(caseId) {
            record = found
            for id in Set(found.items.compactMap(\.noticeId)).sorted(by: { $0.rawValue < $1.rawValue }) {
                if let notice = try await store.notice(id) { notices.append(notice) }
            }
        }
        let state = ReferralProgress(notices: notices, acceptedAt: referral.decidedAt ?? referral.receivedAt)
        // Items are reported by the URL the sender sent; a URL normalised here is matched back by position.
        let caseURLs = record?.items.map(\.url) ?? []
        var items: [ReferralUpdate.Item] = []
        for (index, url) in urls.enumerated() {
            let local = index < caseURLs.count ? caseURLs[index] : url
            let item = notices.lazy.flatMap(\.items).first { $0.url == local }
            items.append(
                .init(
                    url: url, removedAt: item?.removedAt.map(Timestamp.format),
                    verifiedAt: item?.verifiedAt.map(Timestamp.format)))
        }
        let unrouted = record?.items.contains { $0.noticeId == nil } ?? true
        // The sender hears of the acceptance first, whatever the notices here already show.
        let first = referral.report.sequence == 0
        let status = first ? .accepted : state.status
        let summary =
            "\(status.rawValue)|\(notices.count)|"
            + items.map { "\($0.url) \($0.removedAt ?? "-") \($0.verifiedAt ?? "-")" }.joined(separator: "|")
        return ReportedState(
            status: status, at: first ? referral.decidedAt ?? referral.receivedAt : state.at, notices: notices.count,
            items: items, done: !first && state.finished && !unrouted, digest: sha256Hex(Data(summary.utf8)))
    }

    // MARK: Updates from the peers we referred to

    /// Applies a status update a peer posted about a referral we sent: checked as a referral is, then
    /// applied to the notice that carried the referral, in one transaction. An update with a sequence at
    /// or below the last applied one changes nothing.
    public func receiveReferralUpdate(_ body: Data) async throws -> Notice {
        let now = clock()
        let jws = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = try await checkPeerMessage(jws, at: now, recordRefusal: false)
        let update: ReferralUpdate
        do {
            update = try ReferralUpdate.decode(message.payload)
        } catch {
            throw GatewayError.invalid(
                ValidationError([FieldError(name: "body", reason: "is not a referral update document")]))
        }
        guard update.type == "referral_update", update.sequence >= 1, update.items.count <= CaseSubmission.maxItems
        else {
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(name: "type", reason: "must be referral_update with a sequence of 1 or more")
                ]))
        }
        let id = NoticeID(rawValue: update.referral)
        guard let current = try await store.notice(id), current.partnerId == message.sender.id else {
            throw GatewayError.notFound("referral \(update.referral.prefix(64))")
        }
        let actor = "partner:\(message.sender.id)"
        let updated = try await store.updateNotices([id]) { notice in
            notice.applyReferralUpdate(
                status: update.status.rawValue, sequence: update.sequence, receivedAs: update.receivedAs,
                reason: update.reason,
                removals: update.items.compactMap { item in
                    item.removedAt.flatMap(Timestamp.parse).map { (item.url, $0) }
                }, at: now, actor: actor)
        }
        guard let notice = updated.first else { throw GatewayError.notFound("referral \(update.referral)") }
        return notice
    }

    // MARK: Peer keys

    /// Fetches a peer's JWKS from its gateway and pins it.
    public func refreshPeerKeys(_ id: PartnerID) async throws -> Partner {
        var partner = try await gateway.partnerDesk.partner(id)
        guard partner.kind == .hotline, var peer = partner.delivery.gateway else {
            throw GatewayError.conflict("partner \(id) is not a hotline with a gateway")
        }
        peer.keys = try await fetchPeerKeys(peer.baseUrl)
        peer.keysPinnedAt = clock()
        partner.delivery.gateway = peer
        partner.updatedAt = clock()
        try await store.updatePartner(partner, webhookSecret: nil, check: Gateway.routingIsFree(for: partner))
        gateway.invalidateRouting()
        return partner
    }

    /// The keys a peer's gateway publishes at `/.well-known/jwks.json`.
    func fetchPeerKeys(_ baseURL: String) async throws -> [PeerKey] {
        guard let fetch = configuration.peerDocuments else {
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(name: "delivery.gateway.jwks", reason: "is required: this gateway fetches no keys")
                ]))
        }
        let data: Data
        do {
            data = try await fetch(baseURL + "/.well-known/jwks.json")
        } catch {
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(name: "delivery.gateway.jwks", reason: "could not be fetched from the peer: \(error)")
                ]))
        }
        return try gateway.validated { () throws(ValidationError) in try PeerKey.keys(fromJWKS: data) }
    }
}

/// A referral's progress at the receiving gateway, from the notices it issued for it.
struct ReferralProgress {
    var status: ReferralUpdate.Status
    var at: Date
    /// Every notice is verified, withdrawn or expired: nothing more will happen.
    var finished: Bool

    init(notices: [Notice], acceptedAt: Date) {
        func rank(_ status: NoticeStatus) -> ReferralUpdate.Status? {
            switch status {
            case .issued, .delivered: return .noticeIssued
            case .acknowledged, .unable, .disputed: return .acknowledged
            case .removed: return .removed
            case .verified: return .verified
            case .withdrawn, .expired: return nil
            }
        }
        let order: [ReferralUpdate.Status] = [.noticeIssued, .acknowledged, .removed, .verified]
        let ranks = notices.compactMap { rank($0.status) }
        guard let least = ranks.min(by: { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }) else {
            status = .accepted
            at = acceptedAt
            finished = !notices.isEmpty
            return
        }
        status = least
        finished = notices.allSatisfy { [.verified, .withdrawn, .expired].contains($0.status) }
        let times: [Date?]
        switch least {
        case .noticeIssued: times = notices.map(\.issuedAt)
        case .acknowledged: times = notices.map { $0.acknowledgedAt ?? $0.removedAt ?? $0.issuedAt }
        case .removed: times = notices.map { $0.removedAt ?? $0.issuedAt }
        default: times = notices.map { $0.verifiedAt ?? $0.removedAt ?? $0.issuedAt }
        }
        at = times.compactMap { $0 }.max() ?? acceptedAt
    }
}

extension JWKSet {
    /// The key set of a peer's pinned keys.
    init(peerKeys: [PeerKey]) {
        self.init(
            keys: peerKeys.compactMap { key in
                guard let raw = Base64URL.decode(key.x),
                    let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
                else { return nil }
                return PublicJWK(publicKey, kid: key.kid)
            })
    }
}

/// A remote id kept as a column and shown to staff: short and printable.
enum PrefixedIdentifierSyntax {
    static func isReasonable(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 100
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || "0123456789_-.:".unicodeScalars.contains($0))
            }
    }
}

extension ReferralDesk {
    /// Notices that went to peer hotlines as referrals, in issue order after a position: every peer's, or
    /// one's. Returns the page and the position after it.
    public func outgoingReferrals(
        after position: Int64, limit: Int, peer: PartnerID?, status: NoticeStatus? = nil
    ) async throws -> (referrals: [Notice], next: Int64) {
        let peers = try await store.partners().filter { $0.kind == .hotline && (peer == nil || $0.id == peer) }
        if let peer, peers.isEmpty { throw GatewayError.notFound("peer hotline \(peer)") }
        // The status is filtered in the store, before the page is cut: a page is full while more match.
        let filter = NoticeFilter(statuses: status.map { [$0] })
        var found: [Notice] = []
        for partner in peers {
            found += try await store.notices(after: position, limit: limit, partner: partner.id, filter: filter)
        }
        let page = Array(found.sorted { $0.position < $1.position }.prefix(limit))
        return (page, page.last?.position ?? position)
    }
}
