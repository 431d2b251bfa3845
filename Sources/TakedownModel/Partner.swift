import Foundation

/// A hosting provider, law-enforcement agency or peer hotline that receives notices.
public struct Partner: Codable, Sendable, Equatable {
    public var id: PartnerID
    public var name: String
    public var kind: PartnerKind
    public var contactEmail: String
    public var locale: String
    public var jurisdiction: String
    public var routing: RoutingRules
    public var delivery: DeliveryChannels
    /// The SLA policy of its notices; `sla_default` when none was given.
    public var slaPolicyId: SLAPolicyID
    public var createdAt: Date
    public var updatedAt: Date
    /// `suspended` while an admin holds the partner: its tokens do not authenticate and its pushes wait.
    /// Set by the store (`PartnerStatusStore`), never by a partner update.
    public private(set) var status: PartnerStatus
    /// When it was suspended, and why; set only while suspended, shown to staff only.
    public private(set) var suspendedAt: Date?
    public private(set) var suspensionReason: String?

    public init(
        id: PartnerID, name: String, kind: PartnerKind, contactEmail: String, locale: String,
        jurisdiction: String, routing: RoutingRules, delivery: DeliveryChannels,
        slaPolicyId: SLAPolicyID = .standard, createdAt: Date, updatedAt: Date, suspendedAt: Date? = nil,
        suspensionReason: String? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.contactEmail = contactEmail
        self.locale = locale
        self.jurisdiction = jurisdiction
        self.routing = routing
        self.delivery = delivery
        self.slaPolicyId = slaPolicyId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.status = suspendedAt == nil ? .active : .suspended
        self.suspendedAt = suspendedAt
        self.suspensionReason = suspendedAt == nil ? nil : suspensionReason
    }

    /// The partner as it shows itself to its own tokens: without the staff's suspension details.
    public var ownView: Partner {
        var view = self
        view.suspendedAt = nil
        view.suspensionReason = nil
        return view
    }
}

/// Whether a partner's tokens work and its pushes go out.
public enum PartnerStatus: String, Codable, Sendable, CaseIterable {
    case active
    case suspended
}

public enum PartnerKind: String, Codable, Sendable, CaseIterable {
    case hostingProvider = "hosting_provider"
    case lawEnforcement = "law_enforcement"
    case hotline
}

/// Which URLs a hosting provider answers for: domains (with subdomains), IP ranges and ASNs.
public struct RoutingRules: Codable, Sendable, Equatable {
    public var domains: [String]
    public var ipRanges: [String]
    public var asns: [Int]

    public init(domains: [String] = [], ipRanges: [String] = [], asns: [Int] = []) {
        self.domains = domains
        self.ipRanges = ipRanges
        self.asns = asns
    }
}

/// Where notices are pushed; a partner with neither channel polls.
public struct DeliveryChannels: Codable, Sendable, Equatable {
    public var webhookUrl: String?
    public var email: String?

    public init(webhookUrl: String? = nil, email: String? = nil) {
        self.webhookUrl = webhookUrl
        self.email = email
    }
}
