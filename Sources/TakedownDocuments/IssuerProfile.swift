import Foundation

/// Who issues the notices: the hotline running this gateway.
public struct IssuerProfile: Sendable, Equatable {
    public var organisation: String
    public var contactEmail: String
    public var country: String
    public var website: String?
    /// The Digital Services Coordinator that designated the hotline a trusted flagger, if any.
    public var trustedFlaggerDesignatedBy: String?
    public var trustedFlaggerScope: String?
    public var preservationDays: Int

    public init(
        organisation: String = "Example Hotline", contactEmail: String = "notices@hotline.example",
        country: String = "GB", website: String? = nil, trustedFlaggerDesignatedBy: String? = nil,
        trustedFlaggerScope: String? = nil, preservationDays: Int = 90
    ) {
        self.organisation = organisation
        self.contactEmail = contactEmail
        self.country = country
        self.website = website
        self.trustedFlaggerDesignatedBy = trustedFlaggerDesignatedBy
        self.trustedFlaggerScope = trustedFlaggerScope
        self.preservationDays = preservationDays
    }

    /// The mail domain, used where XARF asks for the reporter's domain.
    public var domain: String {
        contactEmail.split(separator: "@").last.map(String.init) ?? "hotline.example"
    }
}
