/// What a store can say went wrong; driver errors are mapped to these inside each store.
public enum StoreError: Error, Equatable, Sendable {
    /// The record does not exist (or is not visible to the caller).
    case notFound
    /// A uniqueness rule was broken: the message names it.
    case conflict(String)
    /// The database could not be reached or refused the operation.
    case unavailable(String)
}
