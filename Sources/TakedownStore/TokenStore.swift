import Foundation
import TakedownModel

/// API tokens, kept as SHA-256 hashes only.
public protocol TokenStore: Sendable {
    /// Inserts a token; throws `conflict` when its id or secret hash is taken.
    func insertToken(_ token: TokenRecord) async throws
    func token(secretHash: String) async throws -> TokenRecord?
    /// What authenticating needs, in one read: the token with this hash and whether its partner is suspended.
    func credential(secretHash: String) async throws -> Credential?
    /// Marks a token revoked; false when there was no such live token.
    func revokeToken(_ id: TokenID, at: Date) async throws -> Bool
    /// Whether an admin token exists that is neither revoked nor expired at `now`.
    func hasAdmin(at now: Date) async throws -> Bool
    /// Inserts the bootstrap admin token unless a live admin exists or a token (revoked, say) already has its
    /// secret hash, deciding and writing atomically: instances starting together on one database insert it
    /// at most once and none fails.
    func insertBootstrapAdmin(_ token: TokenRecord, now: Date) async throws -> BootstrapOutcome
    /// Sets a token's `lastUsedAt` to `date` when it is unset or older than `staleBefore`; otherwise writes
    /// nothing.
    func recordTokenUse(_ id: TokenID, at date: Date, staleBefore: Date) async throws
    /// Tokens in creation order after a position (revoked and expired ones too), optionally one partner's.
    func tokens(after position: Int64, limit: Int, partner: PartnerID?) async throws -> [TokenPage.Entry]
}

/// What `insertBootstrapAdmin` did.
public enum BootstrapOutcome: Sendable, Equatable {
    case created
    /// A live admin token exists; nothing was written.
    case adminExists
    /// A token with this secret exists already (revoked or expired since); it is not brought back.
    case secretUsed
}

public enum TokenPage {
    /// A token and its position in creation order (the page cursor).
    public struct Entry: Sendable, Equatable {
        public var position: Int64
        public var token: TokenRecord

        public init(position: Int64, token: TokenRecord) {
            self.position = position
            self.token = token
        }
    }
}
