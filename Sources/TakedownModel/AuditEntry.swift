import Foundation

/// One change a staff token made: who, when, what, to which resource, and a summary of the change. The
/// audit trail is append-only; nothing updates or deletes an entry.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// `admin:Name` or `analyst:Name`, as on timelines.
    public var actor: String
    public var tokenId: TokenID
    public var at: Date
    /// What was done, as the route names it: `PATCH /v1/partners/{partner_id}`.
    public var action: String
    /// The resource changed (the last id in the path), when there is one.
    public var target: String?
    /// The request as sent, cut to a few kilobytes: what was asked to change.
    public var summary: String
    /// The address the request came from.
    public var client: String

    public init(
        actor: String, tokenId: TokenID, at: Date, action: String, target: String?, summary: String, client: String
    ) {
        self.actor = actor
        self.tokenId = tokenId
        self.at = at
        self.action = action
        self.target = target
        self.summary = summary
        self.client = client
    }
}
