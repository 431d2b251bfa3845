import Foundation
import TakedownModel
import Testing

@Suite("Deliveries follow the partner's channels")
struct ChannelChangeTests {
    @Test(
        "a changed address moves, a removed channel cancels, an added or unchanged one does nothing",
        arguments: [
            (
                DeliveryChannels(webhookUrl: "https://a.test/"), DeliveryChannels(webhookUrl: "https://b.test/"),
                [ChannelChange.moved(.webhook, to: "https://b.test/")]
            ),
            (
                DeliveryChannels(webhookUrl: "https://a.test/", email: "a@a.test"), DeliveryChannels(email: "b@a.test"),
                [.removed(.webhook), .moved(.email, to: "b@a.test")]
            ),
            (
                DeliveryChannels(email: "a@a.test"), DeliveryChannels(webhookUrl: "https://a.test/", email: "a@a.test"),
                []
            ),
            (DeliveryChannels(webhookUrl: "https://a.test/"), DeliveryChannels(webhookUrl: "https://a.test/"), []),
            (DeliveryChannels(email: "a@a.test"), DeliveryChannels(), [.removed(.email)]),
        ])
    func changes(old: DeliveryChannels, new: DeliveryChannels, expected: [ChannelChange]) {
        #expect(ChannelChange.between(old, new) == expected)
    }

    @Test("a redirected email names its new address in the header only; a webhook keeps its body")
    func redirect() {
        let message =
            "From: h@example.com\r\nto: old@example.com\r\nSubject: To: old@example.com\r\n\r\nTo: old@example.com\r\n"
        let mail = Delivery(
            noticeId: .generate(), partnerId: .generate(), channel: .email, endpoint: "old@example.com",
            eventType: "notice.issued", eventId: "<x@mail>", payload: Data(message.utf8), nextAttemptAt: Date(),
            createdAt: Date(), updatedAt: Date())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let moved = mail.redirected(to: "new@example.com", at: now)
        #expect(moved.endpoint == "new@example.com" && moved.updatedAt == now && moved.eventId == mail.eventId)
        #expect(
            String(decoding: moved.payload, as: UTF8.self)
                == "From: h@example.com\r\nTo: new@example.com\r\nSubject: To: old@example.com\r\n\r\nTo: old@example.com\r\n"
        )

        var hook = mail
        hook.channel = .webhook
        hook.payload = Data(#"{"to":"x"}"#.utf8)
        #expect(hook.redirected(to: "https://b.test/", at: now).payload == hook.payload)
    }
}
