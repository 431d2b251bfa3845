import Foundation

/// Who is calling: staff with a role, or one partner.
public enum Principal: Sendable, Equatable {
    case admin(TokenID, name: String)
    case analyst(TokenID, name: String)
    case partner(TokenID, PartnerID)

    public var isStaff: Bool {
        if case .partner = self { return false }
        return true
    }

    public var partnerID: PartnerID? {
        if case .partner(_, let id) = self { return id }
        return nil
    }

    public var tokenID: TokenID {
        switch self {
        case .admin(let id, _), .analyst(let id, _), .partner(let id, _): return id
        }
    }

    /// How the caller appears on a timeline.
    public var actor: String {
        switch self {
        case .admin(_, let name): return "admin:\(name)"
        case .analyst(_, let name): return "analyst:\(name)"
        case .partner(_, let id): return "partner:\(id)"
        }
    }
}

public enum TokenRole: String, Codable, Sendable, CaseIterable {
    case admin
    case analyst
    case partner
}

/// A stored API token: only the SHA-256 of the secret is kept.
public struct TokenRecord: Codable, Sendable, Equatable {
    public var id: TokenID
    public var role: TokenRole
    public var name: String
    public var partnerID: PartnerID?
    public var secretHash: String
    public var createdAt: Date
    public var revokedAt: Date?
    /// After this instant the token authenticates as nothing; nil for no expiry.
    public var expiresAt: Date?
    /// When it last authenticated a request, to within `TokenRecord.useRecordingInterval`.
    public var lastUsedAt: Date?

    public init(
        id: TokenID, role: TokenRole, name: String, partnerID: PartnerID?, secretHash: String, createdAt: Date,
        revokedAt: Date? = nil, expiresAt: Date? = nil, lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.role = role
        self.name = name
        self.partnerID = partnerID
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
    }

    /// `last_used_at` is written at most this often per token, so authenticating is not a write per request.
    public static let useRecordingInterval: TimeInterval = 60

    /// Neither revoked nor expired at `now`.
    public func isLive(at now: Date) -> Bool {
        guard revokedAt == nil else { return false }
        if let expiresAt, expiresAt <= now { return false }
        return true
    }

    /// The principal this token stands for at `now`, or nil when it is revoked, expired or malformed.
    public func principal(at now: Date) -> Principal? {
        guard isLive(at: now) else { return nil }
        switch role {
        case .admin: return .admin(id, name: name)
        case .analyst: return .analyst(id, name: name)
        case .partner: return partnerID.map { .partner(id, $0) }
        }
    }

    /// Whether a use at `now` should be written: never recorded, or recorded longer ago than the interval.
    public func needsUseRecorded(at now: Date) -> Bool {
        guard let lastUsedAt else { return true }
        return now.timeIntervalSince(lastUsedAt) >= Self.useRecordingInterval
    }
}
