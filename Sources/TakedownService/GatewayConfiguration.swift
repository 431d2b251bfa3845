import Foundation
import TakedownDocuments
import TakedownModel

/// Settings the domain needs, resolved by the command line from flags, environment and defaults.
public struct GatewayConfiguration: Sendable {
    /// The public base URL: JWS `iss` and the response links in notices.
    public var publicURL: String
    public var issuer: IssuerProfile
    /// How long a provider has to act under the default SLA policy.
    public var defaultDeadline: TimeInterval
    /// How long the routing table read from the store is trusted before it is read again.
    public var routingCacheSeconds: TimeInterval
    /// How long a rotated webhook secret keeps signing beside the new one.
    public var webhookSecretOverlap: TimeInterval = 24 * 3600
    /// Reminders, escalation and expiry under the default SLA policy, counted from issue.
    public var ladder = EscalationLadder.standard
    /// How long after issue a notice's URLs are first checked, and how often while it stays open.
    public var verifyInterval: TimeInterval = 6 * 3600
    /// The sender of notice emails; nil when no mail relay is configured (the email channel is off).
    public var emailFrom: String?

    public init(
        publicURL: String, issuer: IssuerProfile = IssuerProfile(), defaultDeadline: TimeInterval = 24 * 3600,
        routingCacheSeconds: TimeInterval = 5
    ) {
        self.publicURL = publicURL
        self.issuer = issuer
        self.defaultDeadline = defaultDeadline
        self.routingCacheSeconds = routingCacheSeconds
    }
}
