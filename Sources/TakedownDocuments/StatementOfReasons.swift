import Foundation
import TakedownModel

/// A draft DSA statement of reasons (Art. 17) for a provider that acted on a notice, in the fields of the
/// European Commission's transparency database submission API (`POST /api/v1/statement`, the fields as
/// published in `digital-services-act/transparency-database`, 2024–2025). The provider adapts it (its own
/// `puid`, the dates it decided and applied, the measure it took) and files it.
///
/// It cites the notice by id, in `source_identity` and `decision_facts`, and carries nothing beyond that:
/// no URL, no hash, no description of the material, no analyst's name.
public struct StatementOfReasons: Encodable, Sendable, Equatable {
    public var decisionVisibility: [String]
    public var decisionGround: String
    public var illegalContentLegalGround: String
    public var illegalContentExplanation: String
    public var contentType: [String]
    public var category: String
    public var categorySpecification: [String]
    public var territorialScope: [String]
    public var contentDate: String
    public var applicationDate: String
    public var decisionFacts: String
    public var sourceType: String
    public var sourceIdentity: String
    public var automatedDetection: String
    public var automatedDecision: String
    public var puid: String

    enum CodingKeys: String, CodingKey {
        case decisionVisibility = "decision_visibility"
        case decisionGround = "decision_ground"
        case illegalContentLegalGround = "illegal_content_legal_ground"
        case illegalContentExplanation = "illegal_content_explanation"
        case contentType = "content_type"
        case category
        case categorySpecification = "category_specification"
        case territorialScope = "territorial_scope"
        case contentDate = "content_date"
        case applicationDate = "application_date"
        case decisionFacts = "decision_facts"
        case sourceType = "source_type"
        case sourceIdentity = "source_identity"
        case automatedDetection = "automated_detection"
        case automatedDecision = "automated_decision"
        case puid
    }

    /// The EU and EEA states, the database's `territorial_scope` codes: a removal applies everywhere.
    public static let europeanEconomicArea = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI",
        "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
    ]

    /// The draft for `notice`, whose signed document is `document`, as of `now` (the application date
    /// when nothing was reported removed yet).
    public init(notice: Notice, document: NoticeDocument, now: Date) {
        let designated = document.issuer.trustedFlagger.designated
        let removed = notice.items.filter { $0.removedAt != nil }
        let disabled = !removed.isEmpty && removed.allSatisfy { $0.action == .disabled }
        decisionVisibility = [disabled ? "DECISION_VISIBILITY_CONTENT_DISABLED" : "DECISION_VISIBILITY_CONTENT_REMOVED"]
        decisionGround = "DECISION_GROUND_ILLEGAL_CONTENT"
        let grounds = document.legalBasis.map { "\($0.instrument), \($0.provision) (\($0.jurisdiction))" }
        illegalContentLegalGround = Self.clip(grounds.joined(separator: "; "), 500)
        illegalContentExplanation = Self.clip(
            "Child sexual abuse material, confirmed by the analysts of \(document.issuer.organisation) and notified "
                + "in takedown notice \(document.id) (category \(document.category.xarfClassification), UK grade "
                + "\(document.category.ukGrade)).", 2_000)
        contentType = [document.mediaType == "video" ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"]
        category = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
        categorySpecification = ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"]
        territorialScope = Self.europeanEconomicArea
        let observed = document.items.compactMap { Timestamp.parse($0.observedAt) }.min() ?? notice.issuedAt
        contentDate = Self.day(observed)
        applicationDate = Self.day(removed.compactMap(\.removedAt).min() ?? now)
        let flagger =
            designated
            ? "a trusted flagger (Art. 22 DSA\(document.issuer.trustedFlagger.designatedBy.map { ", designated by \($0)" } ?? ""))"
            : "a notifier under Art. 16 DSA"
        decisionFacts = Self.clip(
            "Access removed or disabled following takedown notice \(document.id) of \(document.issuedAt) from "
                + "\(document.issuer.organisation), \(flagger). The notice named \(document.items.count) "
                + "location\(document.items.count == 1 ? "" : "s"); \(removed.count) reported removed so far.",
            5_000)
        sourceType = designated ? "SOURCE_TRUSTED_FLAGGER" : "SOURCE_ARTICLE_16"
        sourceIdentity = Self.clip("\(document.issuer.organisation), notice \(document.id)", 500)
        automatedDetection = "No"
        automatedDecision = "AUTOMATED_DECISION_NOT_AUTOMATED"
        puid = document.id
    }

    static func day(_ date: Date) -> String { String(Timestamp.format(date).prefix(10)) }

    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
