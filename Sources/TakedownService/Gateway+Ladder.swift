import Foundation
import Logging
import Synchronization
import TakedownDocuments
import TakedownModel
import TakedownStore

extension NoticeDesk {
    /// Takes every escalation-ladder step that is due, for every SLA policy: reminders re-send the signed
    /// notice with the next sequence, escalation tells the policy's escalation partner, expiry ends the
    /// notice. The clock is computed from stored times, so it survives restarts; each step is taken under a
    /// compare-and-set of the notice's step, so it happens once however many instances run. Returns how
    /// many steps were taken.
    @discardableResult
    public func climbLadder(limit: Int = 500) async throws -> Int {
        var taken = try await climb(configuration.ladder, policy: .standard, limit: limit)
        for policy in try await store.slaPolicies() {
            taken += try await climb(policy.escalationLadder, policy: policy.id, limit: limit)
        }
        if taken > 0 {
            onEnqueue()
            logger.info("escalation ladder steps taken", metadata: ["count": "\(taken)"])
        }
        return taken
    }

    /// Takes the due steps of the notices under one policy.
    private func climb(_ ladder: EscalationLadder, policy: SLAPolicyID, limit: Int) async throws -> Int {
        let now = clock()
        let due = try await store.dueLadderSteps(
            policy: policy, offsets: ladder.steps.map(\.after), now: now, limit: limit)
        var taken = 0
        for id in due {
            guard let current = try await store.notice(id), current.ladderStep < ladder.steps.count else { continue }
            let index = current.ladderStep
            let step = ladder.steps[index]
            // Another instance may have taken the due step since the list was read: the next one may not be due.
            guard current.clockStart.addingTimeInterval(step.after) <= now else { continue }
            var target: Partner?
            switch step.action {
            case .reminder: target = try await store.partner(current.partnerId)
            case .escalate(let partner?): target = try await store.partner(partner)
            case .escalate(nil), .expire: target = nil
            }
            let recipient = target
            // Set inside the write transaction when this instance (and not another) took the step.
            let took = Mutex(false)
            _ = try await store.updateNotices(
                [id],
                outbox: { [self] notice in
                    guard let recipient else { return [] }
                    let type = step.action == .reminder ? WebhookEvent.reminder : WebhookEvent.escalated
                    return try gateway.deliveries(
                        for: notice, to: recipient, type: type, at: now, sequence: notice.sequence)
                },
                { notice in
                    let climbed = notice.climb(step, index: index, at: now)
                    took.withLock { $0 = climbed }
                    return climbed
                })
            if took.withLock({ $0 }) { taken += 1 }
        }
        return taken
    }
}
