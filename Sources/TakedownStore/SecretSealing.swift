import Foundation

/// Seals secrets the gateway must read back (webhook signing secrets) before a store writes them, and opens
/// them after it reads them, so the database never holds them in the clear.
public protocol SecretSealing: Sendable {
    func seal(_ secret: String) throws -> String
    /// The secret in `stored`. A value in the clear (a row written before sealing existed) comes back as
    /// it is; a sealed value this key does not open throws.
    func open(_ stored: String) throws -> String
    /// Whether a stored value is in the clear and should be sealed: stores seal such rows when they migrate.
    func needsSealing(_ stored: String) -> Bool
}

extension SecretSealing {
    /// A secret read from a store, opened; `StoreError.unavailable` naming the likely cause when this key
    /// does not open it. Every store reads its sealed secrets through here.
    public func opened(_ stored: String) throws -> String {
        do {
            return try open(stored)
        } catch {
            throw StoreError.unavailable(
                "a webhook secret in the database does not open with \(self): was the key file replaced? (\(error))")
        }
    }
}

/// Stores secrets as given: for stores opened without a key (tests of the store contract).
public struct UnsealedSecrets: SecretSealing {
    public init() {}
    public func seal(_ secret: String) -> String { secret }
    public func open(_ stored: String) -> String { stored }
    public func needsSealing(_ stored: String) -> Bool { false }
}
