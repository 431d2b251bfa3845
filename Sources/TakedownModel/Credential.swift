import Foundation

/// What authenticating a bearer secret reads in one lookup: the token and, for a partner token, whether
/// its partner is suspended.
public struct Credential: Sendable, Equatable {
    public var token: TokenRecord
    public var partnerSuspended: Bool

    public init(token: TokenRecord, partnerSuspended: Bool) {
        self.token = token
        self.partnerSuspended = partnerSuspended
    }

    /// The caller at `now`: nil when the token is revoked or expired, or its partner is suspended.
    public func principal(at now: Date) -> Principal? {
        guard !partnerSuspended else { return nil }
        return token.principal(at: now)
    }
}
