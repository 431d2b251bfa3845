import Foundation
import TakedownModel
import TakedownStore

/// A console sign-in as the browser gets it: the cookie's secret, shown once, and the session it opens.
public struct ConsoleSignIn: Sendable {
    public let cookie: String
    public let session: ConsoleSession
    public let principal: Principal
}

/// Console sign-in, by an API token exchanged once for a session cookie. The session lives in the store,
/// so every instance accepts it and a sign-out ends it everywhere; it ends too when its token is revoked
/// or expires, or its partner is suspended.
public struct ConsoleSessions: Sendable {
    public let gateway: Gateway

    public init(gateway: Gateway) {
        self.gateway = gateway
    }

    /// A new session for the token's holder, or nil when the token does not authenticate.
    /// Sessions past their end are swept at each sign-in.
    public func open(token: String) async throws -> ConsoleSignIn? {
        guard let principal = try await gateway.tokenDesk.authenticate(secret: token) else { return nil }
        let now = gateway.now()
        _ = try await gateway.store.deleteConsoleSessions(
            expiredAt: now, idleBefore: now.addingTimeInterval(-ConsoleSession.idleLimit))
        let cookie = "tcs_" + Self.randomText()
        let session = ConsoleSession(
            idHash: sha256Hex(Data(cookie.utf8)), tokenID: principal.tokenID, csrfToken: Self.randomText(),
            createdAt: now, expiresAt: now.addingTimeInterval(ConsoleSession.lifetime), lastSeenAt: now)
        try await gateway.store.insertConsoleSession(session)
        gateway.logger.info("console session opened", metadata: ["actor": "\(principal.actor)"])
        return ConsoleSignIn(cookie: cookie, session: session, principal: principal)
    }

    /// The live session behind a cookie and who it stands for now, or nil.
    public func resume(cookie: String) async throws -> (session: ConsoleSession, principal: Principal)? {
        guard let hash = Self.hash(cookie),
            let (session, credential) = try await gateway.store.consoleSession(idHash: hash)
        else { return nil }
        let now = gateway.now()
        guard session.isLive(at: now), let principal = credential.principal(at: now) else { return nil }
        if now.timeIntervalSince(session.lastSeenAt) >= ConsoleSession.useRecordingInterval {
            try await gateway.store.recordConsoleSessionUse(
                idHash: hash, at: now, staleBefore: now.addingTimeInterval(-ConsoleSession.useRecordingInterval))
        }
        return (session, principal)
    }

    /// Ends the session behind a cookie, if there is one.
    public func close(cookie: String) async throws {
        guard let hash = Self.hash(cookie) else { return }
        if try await gateway.store.deleteConsoleSession(idHash: hash) {
            gateway.logger.info("console session closed")
        }
    }

    /// The stored hash of a cookie of ours; nil for anything that cannot be one, without a read.
    static func hash(_ cookie: String) -> String? {
        guard cookie.hasPrefix("tcs_"), cookie.utf8.count == 47 else { return nil }
        return sha256Hex(Data(cookie.utf8))
    }

    /// 256 random bits, base64url (43 characters).
    public static func randomText() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
