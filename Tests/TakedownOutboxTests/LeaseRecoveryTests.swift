import Foundation
import TakedownModel
import TakedownOutbox
import TakedownStore
import TakedownTestSupport
import Testing

/// Which leases the rescuer returns at once, and which it leaves to expire: only a process of this PID
/// namespace can be known dead; the same host name and pid elsewhere may be a live process.
@Suite("Lease recovery")
struct LeaseRecoveryTests {
    static let lease: TimeInterval = 45
    static let host = ProcessInfo.processInfo.hostName

    /// This process's owner, in parts.
    static func current() throws -> (pid: Int32, instance: UInt32, namespace: String) {
        let parts = LeaseOwner.current.split(separator: "/", omittingEmptySubsequences: false)
        try #require(parts.count == 4, "owner \(LeaseOwner.current) is not host/pid/instance/namespace")
        return (try #require(Int32(parts[1])), try #require(UInt32(parts[2])), String(parts[3]))
    }

    /// The pid of a process that has just exited.
    static func exitedPid() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    /// A store with one delivery leased (for `lease` seconds from the clock's start) to each owner.
    static func leased(_ owners: [String]) async throws -> (TestGateway, [DeliveryID]) {
        let test = try await TestGateway()
        let partner = Synthetic.partner(domains: ["leases.test"])
        try await test.store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        var ids: [DeliveryID] = []
        for (index, owner) in owners.enumerated() {
            let record = Synthetic.caseRecord(urls: ["https://leases.test/\(index)"])
            let notice = Synthetic.notice(for: record, partner: partner.id)
            let delivery = Synthetic.delivery(for: notice, endpoint: "https://hooks.leases.test/\(index)")
            _ = try await test.store.insertCase(record, notices: [notice], deliveries: [delivery], idempotency: nil)
            let claimed = try await test.store.claimDeliveries(
                owner: owner, limit: 1, now: test.clock.now, lease: lease, perEndpointCap: 1)
            try #require(claimed.map(\.id) == [delivery.id])
            ids.append(delivery.id)
        }
        return (test, ids)
    }

    /// The owner of each delivery's lease, nil once it went back to the queue.
    static func holders(_ store: any GatewayStore, _ ids: [DeliveryID]) async throws -> [String?] {
        var holders: [String?] = []
        for id in ids {
            let delivery = try #require(try await store.delivery(id)?.0)
            holders.append(delivery.state == .inFlight ? delivery.leaseOwner : nil)
        }
        return holders
    }

    @Test("the owner names the host, pid, a per-process instance and the PID namespace")
    func ownerFormat() throws {
        let mine = try Self.current()
        #expect(LeaseOwner.current.hasPrefix("\(Self.host)/\(getpid())/"))
        #expect(mine.pid == getpid())
        #if os(Linux)
            let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
            #expect(link.hasPrefix("pid:["))
            #expect(mine.namespace == "\(boot).\(link.dropFirst(5).dropLast())")
        #endif
    }

    @Test("leases held on another host or in another PID namespace are taken only when they expire")
    func elsewhereWaitsForExpiry() async throws {
        let mine = try Self.current()
        try #require(LeaseOwner.localNamespace != nil, "no PID namespace on this platform")
        let (boot, inode) = (mine.namespace.prefix { $0 != "." }, mine.namespace.drop { $0 != "." }.dropFirst())
        let otherBoot = UUID().uuidString.lowercased()
        let owners = [
            // Another machine (another boot id), also one with this host name, pid and namespace inode.
            LeaseOwner.owner(host: "elsewhere.example", pid: getpid(), instance: 7, namespace: "\(otherBoot).1"),
            LeaseOwner.owner(host: Self.host, pid: getpid(), instance: 7, namespace: "\(otherBoot).\(inode)"),
            // This host name and pid in another container: a dead one restarted as this process, or a live
            // replica that happens to have the same host name and pid. Nothing here can tell them apart.
            LeaseOwner.owner(host: Self.host, pid: getpid(), instance: mine.instance &+ 1, namespace: "\(boot).1"),
            LeaseOwner.owner(host: Self.host, pid: try Self.exitedPid(), instance: 7, namespace: "\(boot).1"),
            // A gateway from before namespaces were named: it may be in another container.
            "\(Self.host)/\(getpid())/7",
            // This very process.
            LeaseOwner.current,
        ]
        let (test, ids) = try await Self.leased(owners)
        defer { test.remove() }
        let rescuer = LeaseRescuer(store: test.store, interval: 1, clock: test.clock.function)
        try await rescuer.rescueOnce()
        #expect(try await Self.holders(test.store, ids) == owners)
        test.clock.advance(by: Self.lease - 1)
        try await rescuer.rescueOnce()
        #expect(try await Self.holders(test.store, ids) == owners)
        test.clock.advance(by: 1)
        try await rescuer.rescueOnce()
        #expect(try await Self.holders(test.store, ids) == Array(repeating: nil, count: owners.count))
    }

    @Test("a dead process of this namespace is recovered at once: its pid gone, or reused by this process")
    func deadLocalAtOnce() async throws {
        let mine = try Self.current()
        try #require(LeaseOwner.localNamespace != nil, "no PID namespace on this platform")
        let dead = [
            // Killed and restarted in place: this pid, under another instance.
            LeaseOwner.owner(host: Self.host, pid: getpid(), instance: mine.instance &+ 1, namespace: mine.namespace),
            LeaseOwner.owner(host: Self.host, pid: try Self.exitedPid(), instance: 7, namespace: mine.namespace),
        ]
        let alive = [
            LeaseOwner.current,
            LeaseOwner.owner(host: Self.host, pid: getppid(), instance: 7, namespace: mine.namespace),
        ]
        let (test, ids) = try await Self.leased(dead + alive)
        defer { test.remove() }
        try await LeaseRescuer(store: test.store, interval: 1, clock: test.clock.function).rescueOnce()
        #expect(try await Self.holders(test.store, ids) == [nil, nil] + alive)
        // The rows are due again, and the live workers take them, each its share: the dead ones count no more
        // (with them, each live worker's share of the four endpoints would be the one it holds).
        var again: [Delivery] = []
        for owner in alive {
            let claimed = try await test.store.claimDeliveries(
                owner: owner, limit: 10, now: test.clock.now, lease: Self.lease, perEndpointCap: 1)
            #expect(claimed.count == 1)
            again += claimed
        }
        #expect(Set(again.map(\.id)) == Set(ids.prefix(2)))
    }

    @Test("owners that do not parse are never taken early")
    func malformed() throws {
        let mine = try Self.current()
        for owner in [
            "garbage", "", "\(Self.host)/x/7/\(mine.namespace)", "\(Self.host)/0/7/\(mine.namespace)",
            "\(Self.host)/-1/7/\(mine.namespace)", "\(Self.host)/\(getpid())/7/\(mine.namespace)/extra",
            "\(Self.host)//7/\(mine.namespace)",
        ] {
            #expect(!LeaseOwner.isDeadLocalProcess(owner), "\(owner)")
        }
    }
}
