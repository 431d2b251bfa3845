import Foundation
import Synchronization
import TakedownModel

/// The append-only audit trail of staff actions, and of partners' changes to their own accounts.
///
/// An entry is written by the store itself, in the same transaction as the change it records: the API
/// opens an `AuditScope` around a staff request, and the first write transaction that the request makes
/// claims the scope and inserts the entry before it commits. A request that changes nothing (refused,
/// invalid) leaves no entry; one whose change rolls back leaves none either.
public protocol AuditStore: Sendable {
    /// Entries oldest first after a position, filtered by actor and target when given.
    func auditEntries(actor: String?, target: String?, after position: Int64, limit: Int) async throws
        -> [(position: Int64, entry: AuditEntry)]
}

/// The audit entry a request is waiting to write, bound for the duration of the request.
public final class AuditScope: Sendable {
    @TaskLocal public static var current: AuditScope?

    public let entry: AuditEntry
    private let written = Atomic<Bool>(false)

    public init(_ entry: AuditEntry) { self.entry = entry }

    /// The entry, the first time a transaction asks for it; nil afterwards.
    public func claim() -> AuditEntry? {
        written.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            ? entry : nil
    }

    /// Gives the entry back when the transaction that claimed it did not commit.
    public func release() {
        written.store(false, ordering: .releasing)
    }

    /// Whether a committed transaction wrote the entry.
    public var isWritten: Bool { written.load(ordering: .acquiring) }
}
