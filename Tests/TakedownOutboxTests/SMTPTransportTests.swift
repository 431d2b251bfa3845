import Foundation
import TakedownModel
import TakedownOutbox
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// libcurl against a local plain SMTP responder. The relay is named `relay.test`, which only the
/// scripted resolver knows: a message arrives only if libcurl connected to the address the guard checked.
@Suite("SMTP transport", .serialized)
struct SMTPTransportTests {
    static func delivery() -> Delivery {
        let message = "From: notices@hotline.test\r\nTo: abuse@provider.test\r\nSubject: synthetic\r\n\r\nbody\r\n"
        return Delivery(
            noticeId: .generate(), partnerId: .generate(), channel: .email, endpoint: "abuse@provider.test",
            eventType: "notice.issued", eventId: "evt_\(UUID().uuidString)", payload: Data(message.utf8),
            nextAttemptAt: Date(), createdAt: Date(), updatedAt: Date())
    }

    static func transport(
        port: Int, resolver: ScriptedResolver, plain: Bool, privateRelay: Bool, allowPrivateTargets: Bool = false
    ) -> SMTPTransport {
        SMTPTransport(
            relay: .init(
                url: "smtp://relay.test:\(port)", from: "notices@hotline.test", allowsPlain: plain,
                allowsPrivateAddress: privateRelay),
            timeout: 5, allowPrivateTargets: allowPrivateTargets, resolver: resolver)
    }

    @Test("a relay on a private address is refused without its own setting, and nothing is sent")
    func privateRelayRefused() async throws {
        let responder = SMTPResponder()
        try await responder.run { port in
            let resolver = ScriptedResolver()
            resolver.answer("relay.test", "127.0.0.1")
            let result = await Self.transport(port: port, resolver: resolver, plain: true, privateRelay: false)
                .send(Self.delivery(), secrets: [], now: Date())
            #expect(result.refused)
            #expect(result.error?.hasPrefix("target refused: relay.test resolves to 127.0.0.1") == true)
            #expect(responder.commands.withLock { $0 }.isEmpty)
        }
    }

    @Test("the private relay setting lets the relay through at its checked address; proxy variables are ignored")
    func privateRelayAllowed() async throws {
        let responder = SMTPResponder()
        // libcurl would send the dialogue to this proxy (where nothing listens) if it read the environment.
        setenv("all_proxy", "http://127.0.0.1:9", 1)
        defer { unsetenv("all_proxy") }
        try await responder.run { port in
            let resolver = ScriptedResolver()
            resolver.answer("relay.test", "127.0.0.1")
            let result = await Self.transport(port: port, resolver: resolver, plain: true, privateRelay: true)
                .send(Self.delivery(), secrets: [], now: Date())
            #expect(result.succeeded, "\(String(describing: result.error))")
            #expect(result.statusCode == 250)
            #expect(resolver.lookups == ["relay.test"])
            let commands = responder.commands.withLock { $0 }
            #expect(commands.contains("MAIL FROM:<notices@hotline.test>"))
            #expect(commands.contains("RCPT TO:<abuse@provider.test>"))
            #expect(responder.messages.withLock { $0 }.first?.contains("Subject: synthetic") == true)
        }
    }

    @Test("TLS is required by default: a relay that offers no STARTTLS gets no message")
    func tlsRequired() async throws {
        let responder = SMTPResponder()
        try await responder.run { port in
            let resolver = ScriptedResolver()
            resolver.answer("relay.test", "127.0.0.1")
            let result = await Self.transport(port: port, resolver: resolver, plain: false, privateRelay: true)
                .send(Self.delivery(), secrets: [], now: Date())
            #expect(!result.succeeded)
            #expect(!result.refused)  // retried: the operator may fix the relay
            #expect(result.error?.contains("TLS") == true)
            let commands = responder.commands.withLock { $0 }
            #expect(commands.contains { $0.hasPrefix("EHLO") })
            #expect(!commands.contains { $0.hasPrefix("MAIL") })
            #expect(responder.messages.withLock { $0 }.isEmpty)
        }
    }

    @Test("a relay name with no address is not contacted")
    func unresolvableRelay() async throws {
        let resolver = ScriptedResolver()
        let result = await Self.transport(port: 25, resolver: resolver, plain: true, privateRelay: true)
            .send(Self.delivery(), secrets: [], now: Date())
        #expect(result.error == "the mail relay relay.test does not exist (DNS)")
        #expect(!result.succeeded)
    }
}
