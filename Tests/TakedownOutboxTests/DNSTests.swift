import Foundation
import TakedownModel
import TakedownTestSupport
import Testing

@testable import TakedownOutbox

@Suite("DNS: messages, the stub resolver and its cache")
struct DNSTests {
    static let id: UInt16 = 0x1234

    /// A response to `query(id:name:type:)`: header, the question as asked, then `records`.
    static func response(
        _ name: String, type: DNSMessage.RecordType = .a, id: UInt16 = id, flags: UInt16 = 0x8180,
        questions: UInt16 = 1, answerCount: UInt16? = nil, records: [[UInt8]]
    ) -> [UInt8] {
        let query = DNSMessage.query(id: id, name: name, type: type)!
        let count = answerCount ?? UInt16(records.count)
        return [
            UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, UInt8(questions),
            UInt8(count >> 8), UInt8(count & 0xFF), 0, 0, 0, 0,
        ] + query[12...] + records.flatMap { $0 }
    }

    /// A record owned by `owner` (bytes: a name or a pointer).
    static func record(owner: [UInt8] = [0xC0, 12], type: UInt16, data: [UInt8]) -> [UInt8] {
        owner + [
            UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0x0E, 0x10, UInt8(data.count >> 8),
            UInt8(data.count & 0xFF),
        ]
            + data
    }

    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    @Test("a query carries the name's labels; names DNS cannot carry get none")
    func query() throws {
        let query = try #require(DNSMessage.query(id: 0xABCD, name: "Host.Example.test.", type: .aaaa))
        #expect(query.prefix(4) == [0xAB, 0xCD, 0x01, 0x00])
        #expect(Array(query[12...]) == Self.name("Host.Example.test") + [0, 28, 0, 1])
        #expect(DNSMessage.query(id: 1, name: "", type: .a) == nil)
        #expect(DNSMessage.query(id: 1, name: "a..test", type: .a) == nil)
        #expect(DNSMessage.query(id: 1, name: String(repeating: "a", count: 64) + ".test", type: .a) == nil)
        #expect(
            DNSMessage.query(id: 1, name: Array(repeating: "abcdefghi", count: 30).joined(separator: "."), type: .a)
                == nil)
        #expect(DNSMessage.query(id: 1, name: "sp ace.test", type: .a) == nil)
    }

    @Test("A and AAAA answers, CNAME chains and compression are read")
    func answers() throws {
        let v4 = Self.response(
            "host.test",
            records: [
                Self.record(type: 1, data: [198, 51, 100, 7]), Self.record(type: 1, data: [198, 51, 100, 8]),
                Self.record(type: 1, data: [198, 51, 100, 7]),
            ])
        let answer = try DNSMessage.parse(v4, id: Self.id, name: "HOST.test", type: .a)
        #expect(answer.addresses == [IPAddress("198.51.100.7")!, IPAddress("198.51.100.8")!])
        #expect(answer.rcode == 0 && !answer.truncated)

        let v6 = Self.response(
            "host.test", type: .aaaa, records: [Self.record(type: 28, data: Array(IPAddress("2001:db8::7")!.bytes))])
        #expect(
            try DNSMessage.parse(v6, id: Self.id, name: "host.test", type: .aaaa).addresses == [
                IPAddress("2001:db8::7")!
            ])

        // host.test CNAME www.cdn.test, whose A record is owned through a pointer into the CNAME's data.
        let chained = Self.response(
            "host.test",
            records: [
                Self.record(type: 5, data: [3] + Array("www".utf8) + [3] + Array("cdn".utf8) + [0xC0, 17]),
                Self.record(owner: [0xC0, 39], type: 1, data: [203, 0, 113, 9]),
                Self.record(owner: Self.name("elsewhere.test"), type: 1, data: [192, 0, 2, 1]),
            ])
        #expect(
            try DNSMessage.parse(chained, id: Self.id, name: "host.test", type: .a).addresses == [
                IPAddress("203.0.113.9")!
            ])

        let missing = Self.response("gone.test", flags: 0x8183, records: [])
        #expect(try DNSMessage.parse(missing, id: Self.id, name: "gone.test", type: .a).rcode == 3)
        let truncated = Self.response("big.test", flags: 0x8380, records: [])
        #expect(try DNSMessage.parse(truncated, id: Self.id, name: "big.test", type: .a).truncated)
    }

    @Test("malformed, mismatched and looping responses are refused, never trusted and never a crash")
    func hostile() {
        var loop = Self.response("host.test", records: [])
        loop[6] = 0
        loop[7] = 1
        loop += [0xC0, UInt8(loop.count)]  // a pointer to itself
        var forward = Self.response("host.test", records: [])
        forward[7] = 1
        forward += [0xC0, UInt8(forward.count + 2), 0]
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "shorter than a header"),
            ("header only", Array(Self.response("host.test", records: []).prefix(11)), "shorter than a header"),
            ("another id", Self.response("host.test", id: 0x9999, records: []), "is not the query's"),
            ("a query", Self.response("host.test", flags: 0x0100, records: []), "a query, not a response"),
            ("two questions", Self.response("host.test", questions: 2, records: []), "questions"),
            ("another name", Self.response("other.test", records: []), "not the name asked"),
            ("another type", Self.response("host.test", type: .aaaa, records: []), "type or class"),
            ("answers counted but absent", Self.response("host.test", answerCount: 3, records: []), "past the message"),
            (
                "an address of 5 bytes",
                Self.response("host.test", records: [Self.record(type: 1, data: [1, 2, 3, 4, 5])]), "5 bytes"
            ),
            (
                "data overrunning",
                Self.response("host.test", records: [Self.record(type: 1, data: [1, 2, 3, 4])]).dropLast(2).map { $0 },
                "overruns"
            ),
            ("a pointer loop", loop, "does not point backwards"),
            ("a forward pointer", forward, "does not point backwards"),
            ("a label type 0x40", Self.response("host.test", records: [[0x40]]), "label type"),
            (
                "a name over 255 bytes",
                Self.response(
                    "host.test",
                    records: [Array(repeating: [63] + Array(repeating: 0x61, count: 63), count: 5).flatMap { $0 } + [0]]
                ), "longer than 255"
            ),
            ("a CNAME loop", Self.response("host.test", records: [Self.record(type: 5, data: [0xC0, 12])]), ""),
        ]
        for (label, bytes, reason) in cases {
            do {
                let answer = try DNSMessage.parse(bytes, id: Self.id, name: "host.test", type: .a)
                #expect(reason.isEmpty && answer.addresses.isEmpty, "\(label) was accepted")
            } catch {
                #expect(error.reason.contains(reason), "\(label): \(error.reason)")
            }
        }
    }

    @Test("random and mutated responses never crash the parser")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let valid = Self.response(
            "host.test",
            records: [
                Self.record(type: 5, data: Self.name("www.cdn.test")),
                Self.record(owner: Self.name("www.cdn.test"), type: 1, data: [203, 0, 113, 9]),
            ])
        var parsed = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...600, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                if bytes.count >= 2 { bytes[0] = 0x12; bytes[1] = 0x34 }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
                if round % 3 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            }
            if let answer = try? DNSMessage.parse(bytes, id: Self.id, name: "host.test", type: .a) {
                parsed += 1
                #expect(answer.addresses.count <= DNSMessage.maxAnswers)
            }
        }
        #expect(parsed > 0)
    }

    @Test("the resolver asks a real server for A and AAAA, follows aliases, and reports NXDOMAIN and silence")
    func resolver() async throws {
        let server = try LoopbackDNSServer([
            "dual.test": .addresses(["198.51.100.7", "2001:db8::7"]),
            "alias.test": .alias("dual.test"),
            "gone.test": .missing,
            "slow.test": .silent,
            "forged.test": .raw { id, question in
                [UInt8((id &+ 1) >> 8), UInt8((id &+ 1) & 0xFF), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0] + question
                    + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 66]
            },
            "garbage.test": .raw { _, _ in Array(repeating: 0xFF, count: 700) },
        ])
        defer { server.stop() }
        let resolver = DNSResolver(server: IPAddress("127.0.0.1")!, port: server.port, timeout: 0.5)
        #expect(
            await resolver.lookup("dual.test") == .addresses([IPAddress("198.51.100.7")!, IPAddress("2001:db8::7")!]))
        #expect(server.questions(for: "dual.test") == 2)
        #expect(
            await resolver.lookup("alias.test") == .addresses([IPAddress("198.51.100.7")!, IPAddress("2001:db8::7")!]))
        #expect(await resolver.lookup("gone.test") == .nameNotFound)
        let started = ContinuousClock.now
        #expect(await resolver.lookup("slow.test") == .failed)
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(450) && waited < .seconds(3), "waited \(waited)")
        // A response with another id is not ours: the resolver waits on, and gets nothing.
        #expect(await resolver.lookup("forged.test") == .failed)
        #expect(await resolver.lookup("garbage.test") == .failed)
        #expect(await resolver.lookup("not a name") == .nameNotFound)

        // Nothing listens: refused at once, not after the time limit.
        server.stop()
        let closed = DNSResolver(server: IPAddress("127.0.0.1")!, port: server.port, timeout: 5)
        let before = ContinuousClock.now
        #expect(await closed.lookup("dual.test") == .failed)
        #expect(ContinuousClock.now - before < .seconds(4))
    }

    @Test("the cache asks once per name and lifetime, shares concurrent questions and stays within its capacity")
    func cache() async throws {
        let server = try LoopbackDNSServer(["a.test": .addresses(["192.0.2.1"]), "gone.test": .missing])
        defer { server.stop() }
        let resolver = CachingResolver(
            DNSResolver(server: IPAddress("127.0.0.1")!, port: server.port, timeout: 1), ttl: 60, negativeTTL: 60,
            failureTTL: 0.2, capacity: 50)
        await withTaskGroup(of: HostLookup.self) { group in
            for _ in 0..<20 { group.addTask { await resolver.lookup("A.test.") } }
            for await lookup in group { #expect(lookup == .addresses([IPAddress("192.0.2.1")!])) }
        }
        #expect(server.questions(for: "a.test") == 2)  // one A and one AAAA question, for 20 lookups
        // A live answer is known without asking; a name never asked is not.
        #expect(resolver.known("a.TEST") == .addresses([IPAddress("192.0.2.1")!]))
        #expect(resolver.known("b.test") == nil)
        #expect(server.questions(for: "b.test") == 0)
        #expect(await resolver.lookup("gone.test") == .nameNotFound)
        #expect(await resolver.lookup("gone.test") == .nameNotFound)
        #expect(server.questions(for: "gone.test") == 2)
        for index in 0..<200 { _ = await resolver.lookup("n\(index).test") }
        #expect(resolver.count <= 50)
    }
}
