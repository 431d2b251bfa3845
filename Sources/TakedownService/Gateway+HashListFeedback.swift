import Foundation
import TakedownModel
import TakedownStore

extension HashListDesk {
    /// A partner's (or staff member's) verdict on a live entry of a list it can see.
    public func submitFeedback(
        _ id: HashListID, _ entry: HashEntryID, verdict: String?, comment: String?, by principal: Principal
    ) async throws -> HashListFeedback {
        _ = try await hashList(id, for: principal)
        var v = Validator()
        let checked: HashListFeedback.Verdict? = v.choice(verdict, "verdict")
        let comment = v.text(comment, "comment", max: 2000, required: false)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        guard let found = try await store.hashListEntry(id, entry) else {
            throw GatewayError.notFound("entry \(entry) of hash list \(id)")
        }
        guard found.isLive else { throw GatewayError.conflict("entry \(entry) was deleted already") }
        let feedback = HashListFeedback(
            id: .generate(), listId: id, entryId: entry, partnerId: principal.partnerID, verdict: checked!,
            comment: comment, createdAt: clock())
        try await store.insertHashListFeedback(feedback)
        return feedback
    }

    /// Feedback on a list: staff see all of it, a partner its own.
    /// A page of feedback after a cursor. A partner sees its own, without the staff's note or name.
    public func feedback(
        _ id: HashListID, status: String?, after cursor: String?, limit: Int, for principal: Principal
    ) async throws -> (feedback: [HashListFeedback], nextCursor: String) {
        _ = try await hashList(id, for: principal)
        let after = try Gateway.position(after: cursor)
        var filter: HashListFeedback.Status?
        if let status, status != "all" {
            guard let parsed = HashListFeedback.Status(rawValue: status) else {
                throw GatewayError.badParameter(name: "status", reason: "must be open, kept, deleted or all")
            }
            filter = parsed
        }
        let rows = try await store.hashListFeedback(
            id, status: filter, partner: principal.partnerID, after: after, limit: limit)
        let feedback = rows.map { row in principal.isStaff ? row.feedback : row.feedback.seenByPartner }
        return (feedback, Cursor.encode(rows.last?.position ?? after))
    }

    /// Staff resolve feedback: `keep` the entry, or `delete` it with a reason.
    public func resolveFeedback(
        _ id: HashListID, _ feedback: FeedbackID, action: String?, reason: String?, note: String?,
        by principal: Principal
    ) async throws -> HashListFeedback {
        _ = try await hashList(id)
        var v = Validator()
        let action = v.text(action, "action", max: 10)
        var deletion: DeletionReason?
        switch action {
        case "delete": deletion = v.choice(reason, "reason")
        case "keep": if reason != nil { v.fail("reason", "only goes with action delete") }
        case nil: break
        default: v.fail("action", "must be keep or delete")
        }
        let note = v.text(note, "note", max: 2000, required: false)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        do {
            return try await store.resolveHashListFeedback(
                id, feedback, deleteWith: deletion, note: note, by: principal.actor, at: clock())
        } catch StoreError.notFound {
            throw GatewayError.notFound("feedback \(feedback) on hash list \(id)")
        } catch StoreError.conflict(let detail) {
            throw GatewayError.conflict(detail)
        }
    }
}
