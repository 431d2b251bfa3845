import TakedownModel
import TakedownOutbox
import Testing

/// The target guard's decisions, with a scripted resolver: nothing here opens a connection.
@Suite("Target guard")
struct TargetGuardTests {
    /// Reserved addresses (IANA special-purpose registries, documentation ranges, embedded IPv4 forms).
    static let refused = [
        "0.1.2.3", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1", "192.0.0.8",
        "192.0.2.10", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1",
        "240.0.0.1", "255.255.255.255",
        "::", "::1", "::7f00:1", "::a9fe:a9fe", "::8.8.8.8", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b::10.0.0.1", "64:ff9b:1::8.8.8.8",
        "100::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:db8::1", "3fff::1",
        "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::1", "5f00::1", "fc00::1", "fd12:3456::1",
        "fe80::1", "fec0::1", "ff02::1", "400::1",
    ]

    /// Public unicast addresses, NAT64 and 6to4 forms of public IPv4 addresses, and the AS112 anycast.
    static let allowed = [
        "93.184.216.34", "8.8.8.8", "1.1.1.1", "192.31.196.1", "192.175.48.1", "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e", "64:ff9b::93.184.216.34", "64:ff9b::808:808", "::ffff:93.184.216.34",
        "2002:5db8:d822::1", "2620:4f:8000::1",
    ]

    @Test("reserved addresses are refused, by literal and by name", arguments: refused)
    func reserved(_ text: String) async throws {
        let address = try #require(IPAddress(text))
        #expect(TargetGuard.isBlocked(address))
        let resolver = ScriptedResolver()
        resolver.answer("reserved.test", text)
        let guardrail = TargetGuard(allowPrivate: false, resolver: resolver)
        guard case .refused(let reason) = await guardrail.check(host: "reserved.test") else {
            Issue.record("\(text) was not refused")
            return
        }
        #expect(reason.contains(address.description))
        guard case .refused = await guardrail.check(host: text.contains(":") ? "[\(text)]" : text) else {
            Issue.record("the literal \(text) was not refused")
            return
        }
    }

    @Test("public addresses, and NAT64 or 6to4 forms of public IPv4 addresses, are allowed", arguments: allowed)
    func publicAddresses(_ text: String) async throws {
        let address = try #require(IPAddress(text))
        #expect(!TargetGuard.isBlocked(address))
        let resolver = ScriptedResolver()
        resolver.answer("public.test", text)
        let verdict = await TargetGuard(allowPrivate: false, resolver: resolver).check(host: "public.test")
        #expect(verdict == .approved(ApprovedTarget(host: "public.test", addresses: [address])))
    }

    @Test("a name with one reserved address among public ones is refused")
    func mixed() async {
        let resolver = ScriptedResolver()
        resolver.answer("mixed.test", "93.184.216.34", "2606:4700:4700::1111", "10.0.0.5")
        guard
            case .refused(let reason) = await TargetGuard(allowPrivate: false, resolver: resolver).check(
                host: "mixed.test")
        else {
            Issue.record("a name resolving to 10.0.0.5 among others was allowed")
            return
        }
        #expect(reason == "mixed.test resolves to 10.0.0.5, a private address (10.0.0.0/8)")
    }

    @Test("a lookup with no address is refused, telling a name that does not exist from a failure")
    func failClosed() async {
        let resolver = ScriptedResolver()
        resolver.script("empty.test", .addresses([]))
        resolver.script("flaky.test", .failed)
        for allowPrivate in [false, true] {
            let guardrail = TargetGuard(allowPrivate: allowPrivate, resolver: resolver)
            #expect(await guardrail.check(host: "empty.test") == .unresolvable(permanent: false))
            #expect(await guardrail.check(host: "flaky.test") == .unresolvable(permanent: false))
            #expect(await guardrail.check(host: "missing.test") == .unresolvable(permanent: true))
        }
    }

    @Test("the allow-list opens exactly its ranges; allowing private targets opens all, still pinned")
    func allowances() async throws {
        let resolver = ScriptedResolver()
        resolver.answer("one.test", "127.0.0.1")
        resolver.answer("two.test", "127.0.0.2")
        resolver.answer("mapped.test", "::ffff:127.0.0.1")
        let listed = TargetGuard(allowPrivate: false, allowed: [IPRange("127.0.0.1/32")!], resolver: resolver)
        #expect(
            await listed.check(host: "one.test")
                == .approved(.init(host: "one.test", addresses: [IPAddress("127.0.0.1")!])))
        // The IPv4-mapped form of an allowed address is the same host.
        #expect(
            await listed.check(host: "mapped.test")
                == .approved(.init(host: "mapped.test", addresses: [IPAddress("::ffff:127.0.0.1")!])))
        guard case .refused = await listed.check(host: "two.test") else {
            Issue.record("127.0.0.2 passed an allow-list of 127.0.0.1")
            return
        }
        let open = TargetGuard(allowPrivate: true, resolver: resolver)
        #expect(
            await open.check(host: "two.test")
                == .approved(.init(host: "two.test", addresses: [IPAddress("127.0.0.2")!])))
    }

    @Test("an address literal is judged as it is, without a lookup")
    func literals() async {
        let resolver = ScriptedResolver()
        let guardrail = TargetGuard(allowPrivate: false, resolver: resolver)
        #expect(
            await guardrail.check(host: "93.184.216.34")
                == .approved(.init(host: "93.184.216.34", addresses: [IPAddress("93.184.216.34")!])))
        #expect(
            await guardrail.check(host: "[2606:4700:4700::1111]")
                == .approved(.init(host: "2606:4700:4700::1111", addresses: [IPAddress("2606:4700:4700::1111")!])))
        #expect(resolver.lookups.isEmpty)
    }
}
