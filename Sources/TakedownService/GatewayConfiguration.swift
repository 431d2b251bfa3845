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
    /// How long a retired signing key stays in the JWKS (`TAKEDOWN_RETIRED_KEY_PUBLISH_DAYS`): ten years by
    /// default, since notices are evidence that must verify long after.
    public var retiredKeyPublication: TimeInterval = 3650 * 86_400
    /// How long a rotated webhook secret keeps signing beside the new one.
    public var webhookSecretOverlap: TimeInterval = 24 * 3600
    /// Reminders, escalation and expiry under the default SLA policy, counted from issue.
    public var ladder = EscalationLadder.standard
    /// Retention, polling and publishing of hash lists.
    public var hashLists = HashListSettings()
    /// How long after issue a notice's URLs are first checked, and how often while it stays open.
    public var verifyInterval: TimeInterval = 6 * 3600
    /// The sender of notice emails; nil when no mail relay is configured (the email channel is off).
    public var emailFrom: String?
    /// The resolver intake traces item hosts with (`TAKEDOWN_DNS_SERVER`); nil: no lookups, routing by
    /// domain rules, observed addresses and their AS numbers only.
    public var hostResolver: (any HostResolver)?
    /// A lookup's time limit; a case's lookups end within twice this.
    public var dnsTimeout: TimeInterval = 2
    /// Asks RDAP about items nothing else routed (`TAKEDOWN_RDAP_BOOTSTRAP` or `TAKEDOWN_RDAP_URL`); nil: off.
    public var rdap: (any RDAPLookup)?
    /// How long intake waits for a case's RDAP answers in all.
    public var rdapTimeout: TimeInterval = 5
    /// Fetches a peer hotline's JWKS (`{base_url}/.well-known/jwks.json`) to pin it; nil: keys must be given.
    public var peerDocuments: (@Sendable (String) async throws -> Data)?
    /// Sends one signed `webhook.test` event to a URL and tells how it went: a provider's new webhook URL is
    /// used only once this succeeds. Nil: webhook URLs change only through staff.
    public var webhookProbe: (@Sendable (WebhookProbe) async -> WebhookProbe.Result)?
    /// How old a referral or update may be (its `iat`) and still be taken: older ones are refused as replays.
    public var referralMaxAge: TimeInterval = 30 * 24 * 3600
    /// The tamper-evident log's name (`TAKEDOWN_LOG_ORIGIN`): its checkpoints' first line and its key's name.
    /// By default the public URL without its scheme, then `/log`. The store keeps the name the first instance
    /// gave it, for good: set it before the first checkpoint.
    public var logOrigin: String

    public init(
        publicURL: String, issuer: IssuerProfile = IssuerProfile(), defaultDeadline: TimeInterval = 24 * 3600,
        routingCacheSeconds: TimeInterval = 5
    ) {
        self.publicURL = publicURL
        self.issuer = issuer
        self.defaultDeadline = defaultDeadline
        self.routingCacheSeconds = routingCacheSeconds
        self.logOrigin = Self.logOrigin(publicURL: publicURL)
    }

    /// `gateway.example.org/log` for `https://gateway.example.org/`.
    public static func logOrigin(publicURL: String) -> String {
        var origin = Substring(publicURL)
        if let scheme = origin.range(of: "://") { origin = origin[scheme.upperBound...] }
        while origin.hasSuffix("/") { origin = origin.dropLast() }
        let name = String(origin).replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "+", with: "")
        return (name.isEmpty ? "takedown-gateway" : name) + "/log"
    }
}

/// How hash lists are kept and published.
public struct HashListSettings: Sendable, Equatable {
    /// How long tombstones stay in the change feed; a client further behind must resync from a snapshot.
    public var tombstoneRetentionDays = 90
    /// The shortest polling interval clients are asked to keep (manifests say it).
    public var minPollSeconds = 300
    /// How long a manifest is current: clients treat one older than its `expires_at` as stale.
    public var manifestLifetime: TimeInterval = 7 * 24 * 3600
    /// How often changed lists are published as a new version; 0 publishes only on request.
    public var publishInterval: TimeInterval = 3600
    /// How often changed URL lists are published: twice a day, as block lists are; 0 only on request.
    public var urlPublishInterval: TimeInterval = 12 * 3600

    /// The publishing interval of a list of this kind.
    public func publishInterval(of kind: HashListKind) -> TimeInterval {
        kind == .urls ? urlPublishInterval : publishInterval
    }

    public init() {}
}
