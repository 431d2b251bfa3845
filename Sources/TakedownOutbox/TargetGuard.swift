import Foundation
import TakedownModel

/// Decides whether a host may be contacted: resolves it once, refuses it when any address is loopback,
/// private, link-local (cloud metadata included), shared or otherwise not a public unicast address, and
/// hands back the addresses it checked. Transports connect to those and never resolve the name again,
/// so a DNS answer that changes between the check and the connection (rebinding) cannot reach inside.
/// The operator may allow every private address (`TAKEDOWN_ALLOW_PRIVATE_TARGETS=1`); an explicit
/// allow-list lets a test reach one loopback address and no other.
public struct TargetGuard: Sendable {
    public var allowPrivate: Bool
    /// Ranges allowed even though they are private (empty in production).
    public var allowed: [IPRange]
    public var resolver: any HostResolver

    public init(allowPrivate: Bool, allowed: [IPRange] = [], resolver: any HostResolver = SystemResolver()) {
        self.allowPrivate = allowPrivate
        self.allowed = allowed
        self.resolver = resolver
    }

    /// What the guard says about a host.
    public enum Verdict: Sendable, Equatable {
        /// Every address may be contacted; connect to one of these and to nothing else.
        case approved(ApprovedTarget)
        case refused(String)
        /// DNS has no address for the name: permanently (it does not exist) or for now. Nothing is contacted.
        case unresolvable(permanent: Bool)
    }

    /// Resolves `host` once (an address literal is taken as it is) and judges every address it got.
    public func check(host: String) async -> Verdict {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses: [IPAddress]
        if let literal = IPAddress(bare) {
            addresses = [literal]
        } else {
            switch await resolver.lookup(bare) {
            case .addresses(let found) where !found.isEmpty: addresses = found
            case .nameNotFound: return .unresolvable(permanent: true)
            case .addresses, .failed: return .unresolvable(permanent: false)
            }
        }
        if !allowPrivate {
            for address in addresses {
                if let reason = refusal(of: address) { return .refused("\(bare) resolves to \(address), \(reason)") }
            }
        }
        return .approved(ApprovedTarget(host: bare, addresses: addresses))
    }

    /// `check(host:)` within `limit` seconds: a lookup that takes longer counts as failed for now.
    public func check(host: String, within limit: TimeInterval) async -> Verdict {
        await withTaskGroup(of: Verdict?.self) { group in
            group.addTask { await check(host: host) }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(min(max(limit, 0), 86_400) * 1000)))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .unresolvable(permanent: false)
        }
    }

    /// Why `address` may not be contacted (nil when it may), the allow-list taken into account.
    public func refusal(of address: IPAddress) -> String? {
        guard let reason = Self.reservedRange(of: address) else { return nil }
        let mapped = Self.mappedIPv4(address)
        if allowed.contains(where: { $0.contains(address) || mapped.map($0.contains) == true }) { return nil }
        return reason
    }
}

/// A host name and the addresses the target guard checked for it, in the resolver's order of preference.
public struct ApprovedTarget: Sendable, Hashable {
    /// The name as it was looked up (IPv6 literals without brackets): `Host`, SNI and certificates use it.
    public let host: String
    /// Never empty.
    public let addresses: [IPAddress]

    public init(host: String, addresses: [IPAddress]) {
        precondition(!addresses.isEmpty, "an approved target has an address")
        self.host = host
        self.addresses = addresses
    }

    /// Whether the host is itself an address, so there is no name to pin.
    public var isLiteral: Bool { IPAddress(host) != nil }
}
