import Foundation
import TakedownModel

/// Console sessions, by the SHA-256 of their cookie's secret. Any gateway instance on the same database
/// accepts a session another opened, and a sign-out ends it on all of them.
public protocol ConsoleSessionStore: Sendable {
    /// Inserts a session; throws `conflict` when its hash is taken or its token does not exist.
    func insertConsoleSession(_ session: ConsoleSession) async throws
    /// The session with this hash and, in the same read, the credential of the token behind it.
    func consoleSession(idHash: String) async throws -> (session: ConsoleSession, credential: Credential)?
    /// Sets a session's `lastSeenAt` to `date` when it is older than `staleBefore`; otherwise writes nothing.
    func recordConsoleSessionUse(idHash: String, at date: Date, staleBefore: Date) async throws
    /// Ends a session; false when there was none.
    func deleteConsoleSession(idHash: String) async throws -> Bool
    /// Removes sessions past their lifetime at `now` or idle since `idleBefore`; returns how many.
    func deleteConsoleSessions(expiredAt now: Date, idleBefore: Date) async throws -> Int
}
