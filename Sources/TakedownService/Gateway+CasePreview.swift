import Foundation
import TakedownModel

/// Where each item of a case would go if it were submitted now: what an analyst checks before issuing.
public struct CasePreview: Sendable {
    public struct Line: Sendable {
        public var url: String
        /// The provider or peer hotline it would go to; nil when nobody here takes it.
        public var recipient: Partner?
        public var trace: HostingTrace?
        /// Why nobody takes it, as the receipt of a submission would say.
        public var unroutedReason: String?
    }

    public var lines: [Line]

    /// How many lines go to each recipient, in the order recipients first appear.
    public var recipients: [(partner: Partner, count: Int)] {
        var order: [PartnerID] = []
        var counts: [PartnerID: (Partner, Int)] = [:]
        for line in lines {
            guard let partner = line.recipient else { continue }
            if counts[partner.id] == nil { order.append(partner.id) }
            counts[partner.id, default: (partner, 0)].1 += 1
        }
        return order.compactMap { counts[$0].map { (partner: $0.0, count: $0.1) } }
    }

    public var unroutedCount: Int { lines.count(where: { $0.recipient == nil }) }
}

extension CaseDesk {
    /// The routing of a submission, checked as `submitCase` checks it and traced as it would be (RDAP
    /// included), without issuing or storing anything.
    public func previewCase(_ submission: CaseSubmission, by principal: Principal) async throws -> CasePreview {
        let now = clock()
        var record = try gateway.validated { () throws(ValidationError) in
            try submission.validated(id: .generate(), at: now, by: principal.actor)
        }
        let (snapshot, routes) = try await routes(for: &record, at: now, referrals: true)
        let lines = zip(record.items, routes).map { item, route in
            switch route {
            case .success(let partner):
                CasePreview.Line(url: item.url, recipient: snapshot.partners[partner], trace: item.trace)
            case .failure(let reason):
                CasePreview.Line(url: item.url, trace: item.trace, unroutedReason: reason.rawValue)
            }
        }
        return CasePreview(lines: lines)
    }
}
