import Foundation

/// A console sign-in: a browser's cookie stands for the token it was opened with until it expires, goes
/// idle or is signed out. Only the SHA-256 of the cookie's secret is stored.
public struct ConsoleSession: Sendable, Equatable {
    public var idHash: String
    public var tokenID: TokenID
    /// The value every form of this session must carry back.
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date
    /// When it was last used, to within `ConsoleSession.useRecordingInterval`.
    public var lastSeenAt: Date

    public init(
        idHash: String, tokenID: TokenID, csrfToken: String, createdAt: Date, expiresAt: Date, lastSeenAt: Date
    ) {
        self.idHash = idHash
        self.tokenID = tokenID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
    }

    /// A session lasts at most a working shift from sign-in.
    public static let lifetime: TimeInterval = 10 * 3600
    /// A session unused this long is over.
    public static let idleLimit: TimeInterval = 3600
    /// `lastSeenAt` is written at most this often, so browsing is not a write per page.
    public static let useRecordingInterval: TimeInterval = 60

    /// Neither past its lifetime nor idle at `now`.
    public func isLive(at now: Date) -> Bool {
        now < expiresAt && now.timeIntervalSince(lastSeenAt) < Self.idleLimit
    }
}
