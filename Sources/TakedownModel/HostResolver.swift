/// Answers what a host name resolves to. The target guard asks it once per contact and the transports
/// connect to what it approved; intake asks it to trace where an item is hosted. Tests script it, or point
/// the DNS client at a server on loopback.
public protocol HostResolver: Sendable {
    func lookup(_ host: String) async -> HostLookup

    /// The answer already known for `host`, without waiting: a cache's live answer. Nil when the name
    /// would have to be asked.
    func known(_ host: String) -> HostLookup?
}

extension HostResolver {
    public func known(_ host: String) -> HostLookup? { nil }
}

/// One answer of a `HostResolver`.
public enum HostLookup: Sendable, Equatable {
    case addresses([IPAddress])
    /// The name does not exist (NXDOMAIN): a permanent answer.
    case nameNotFound
    /// No answer for now (a DNS server timed out or failed), or an answer with no usable address.
    case failed
}
