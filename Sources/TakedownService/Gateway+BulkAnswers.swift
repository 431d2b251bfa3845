import Foundation
import Metrics
import Synchronization
import TakedownModel

/// What became of one answer of a bulk request.
public struct BulkAnswerResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable, Codable {
        /// The answer changed the notice.
        case applied
        /// The notice already was so: the answer changed nothing (a repeat is always this).
        case already
        /// The notice's state does not allow it.
        case forbidden
        /// No such notice, or another partner's.
        case notFound = "not_found"
        /// The answer itself is at fault (an unknown URL, a removal time in the future).
        case invalid
    }

    public var outcome: Outcome
    /// The notice's status after the whole request, for a notice the caller may see.
    public var status: NoticeStatus?
    public var detail: String?

    public init(outcome: Outcome, status: NoticeStatus? = nil, detail: String? = nil) {
        self.outcome = outcome
        self.status = status
        self.detail = detail
    }
}

extension NoticeDesk {
    /// At most this many answers per bulk request.
    public static let maxBulkAnswers = 1_000

    /// Applies a provider's answers to its notices in one transaction, each on the same rules as a single
    /// answer, and says what became of each, in order. One answer that cannot apply never stops the others;
    /// answers to the same notice apply in the order given.
    public func answerInBulk(_ answers: [(notice: NoticeID, answer: NoticeAnswer)], by principal: Principal)
        async throws -> [BulkAnswerResult]
    {
        guard let partner = principal.partnerID else {
            throw GatewayError.forbidden("only the recipient answers a notice")
        }
        for (_, answer) in answers {
            switch answer {
            case .acknowledge, .removal, .unable, .dispute, .appeal: continue
            case .retrieved, .withdraw, .decideDispute:
                throw GatewayError.forbidden("a bulk request carries a provider's answers only")
            }
        }
        var byNotice: [NoticeID: [Int]] = [:]
        var order: [NoticeID] = []
        for (index, entry) in answers.enumerated() {
            if byNotice[entry.notice] == nil { order.append(entry.notice) }
            byNotice[entry.notice, default: []].append(index)
        }
        let now = clock()
        let actor = principal.actor
        let grouped = byNotice
        let outcomes = Mutex([Int: BulkAnswerResult]())
        // Read without documents and signatures: an answer needs neither, and none is pushed.
        let updated = try await store.updateNotices(order, documents: false, outbox: { _ in [] }) { notice in
            let indices = grouped[notice.id] ?? []
            guard notice.partnerId == partner else {
                outcomes.withLock { for index in indices { $0[index] = .init(outcome: .notFound) } }
                return false
            }
            var changed = false
            for index in indices {
                let result = Self.apply(answers[index].answer, to: &notice, at: now, actor: actor)
                if result.outcome == .applied { changed = true }
                outcomes.withLock { $0[index] = result }
            }
            return changed
        }
        let seen = Dictionary(
            updated.filter { $0.partnerId == partner }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let found = outcomes.withLock { $0 }
        var timed = Set<NoticeID>()
        return answers.indices.map { index in
            guard let notice = seen[answers[index].notice], var result = found[index] else {
                return BulkAnswerResult(outcome: .notFound, detail: "no notice \(answers[index].notice)")
            }
            result.status = notice.status
            // The removal that completed a notice counts in the time-to-removal figures, once.
            if result.outcome == .applied, case .removal = answers[index].answer, notice.status == .removed,
                let seconds = notice.timeToRemoval, timed.insert(notice.id).inserted
            {
                Timer(label: "takedown_time_to_removal_seconds", dimensions: [("partner", partner.rawValue)])
                    .recordNanoseconds(Int64(seconds * 1e9))
            }
            return result
        }
    }

    /// One answer of a bulk request, checked as `answer(_:_:by:)` checks it.
    static func apply(_ answer: NoticeAnswer, to notice: inout Notice, at now: Date, actor: String)
        -> BulkAnswerResult
    {
        if case .removal(_, let removedAt?, _) = answer {
            if removedAt > now.addingTimeInterval(300) {
                return .init(outcome: .invalid, detail: "removed_at is in the future")
            }
            if removedAt < notice.issuedAt {
                return .init(
                    outcome: .invalid,
                    detail: "removed_at is before the notice was issued (\(Timestamp.format(notice.issuedAt)))")
            }
        }
        do {
            return .init(outcome: try notice.apply(answer, at: now, actor: actor) ? .applied : .already)
        } catch {
            switch error {
            case .forbidden(let from, let name):
                return .init(outcome: .forbidden, detail: "a notice that is \(from.rawValue) cannot take \(name)")
            case .unknownURLs(let urls):
                return .init(
                    outcome: .invalid,
                    detail: urls.map { "\($0) is not an item of this notice" }.joined(separator: "; "))
            case .alreadyDecided(let detail):
                return .init(outcome: .forbidden, detail: detail)
            case .sameDecider(let who):
                return .init(outcome: .forbidden, detail: "\(who) may not decide this appeal")
            }
        }
    }
}
