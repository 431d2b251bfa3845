import Foundation
import TakedownModel

/// Builds the canonical document of a notice from a case, its recipient and the issuer.
public struct NoticeComposer: Sendable {
    public let issuer: IssuerProfile
    public let publicURL: String
    public let templates: NoticeTemplates

    public init(issuer: IssuerProfile, publicURL: String, templates: NoticeTemplates) {
        self.issuer = issuer
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.templates = templates
    }

    public func document(
        id: NoticeID, for record: Case, items: [CaseItem], recipient: Partner, issuedAt: Date, deadlineAt: Date
    ) -> NoticeDocument {
        let language = templates.language(for: recipient.locale)
        let base = "\(publicURL)/v1/notices/\(id)"
        let classification = record.category.classification?.rawValue ?? "baseline"
        // A peer hotline's gateway gets a referral, addressed to its base URL so it cannot be replayed to
        // another gateway.
        let peer = recipient.kind == .hotline ? recipient.delivery.gateway : nil
        var document = NoticeDocument(
            iss: publicURL, aud: peer?.baseUrl ?? recipient.id.rawValue, iat: Int(issuedAt.timeIntervalSince1970),
            jti: id.rawValue,
            id: id.rawValue, sequence: 1, caseReference: record.reference, issuedAt: Timestamp.format(issuedAt),
            deadlineAt: Timestamp.format(deadlineAt), language: language,
            issuer: .init(
                organisation: issuer.organisation, contactEmail: issuer.contactEmail, country: issuer.country,
                website: issuer.website,
                trustedFlagger: .init(
                    designated: issuer.trustedFlaggerDesignatedBy != nil,
                    designatedBy: issuer.trustedFlaggerDesignatedBy,
                    scope: issuer.trustedFlaggerScope)),
            recipient: .init(
                partnerId: recipient.id.rawValue, name: recipient.name, contactEmail: recipient.contactEmail,
                jurisdiction: recipient.jurisdiction),
            legalBasis: templates.legalBases.bases(for: recipient.jurisdiction),
            category: .init(
                ukGrade: record.category.ukGrade.rawValue, classification: record.category.classification?.rawValue,
                xarfClassification: classification),
            mediaType: record.mediaType.rawValue, explanation: "", goodFaithStatement: "",
            items: items.map { item in
                .init(
                    url: item.url, observedAt: Timestamp.format(item.observedAt), ip: item.ip, hashes: item.hashes,
                    trace: peer == nil ? nil : item.trace.map(NoticeDocument.Trace.init))
            },
            requestedAction: .init(preservationDays: issuer.preservationDays),
            response: .init(
                notice: base, acknowledge: "\(base)/acknowledge", removal: "\(base)/removal", unable: "\(base)/unable",
                dispute: "\(base)/dispute"),
            appeal: .init(route: "\(base)/dispute", contactEmail: issuer.contactEmail))
        if peer != nil { document.type = NoticeDocument.referralType }
        let context = NoticeTemplates.context(of: document)
        document.explanation = templates.render("explanation", language: language, context: context)
        document.goodFaithStatement = templates.render("good-faith", language: language, context: context)
        return document
    }
}
