import Foundation

/// What a change of a partner's delivery channels does to its deliveries not yet done (pending, failed or
/// in flight): a channel given another address carries them there, a channel removed cancels them.
public enum ChannelChange: Sendable, Equatable {
    case moved(DeliveryChannel, to: String)
    case removed(DeliveryChannel)

    /// The changes from `old` to `new`, webhook first; none when the channels are the same.
    public static func between(_ old: DeliveryChannels, _ new: DeliveryChannels) -> [ChannelChange] {
        DeliveryChannel.allCases.compactMap { channel in
            switch (old[channel], new[channel]) {
            case (let before?, let after?) where before != after: return .moved(channel, to: after)
            case (.some, nil): return .removed(channel)
            default: return nil
            }
        }
    }

    /// What a delivery cancelled by a removed channel records as its `lastError`.
    public static func cancellation(_ channel: DeliveryChannel) -> String {
        switch channel {
        case .webhook: return "cancelled: the partner's webhook_url was removed"
        case .email: return "cancelled: the partner's email was removed"
        case .referral: return "cancelled: the peer's gateway was removed"
        }
    }
}

extension DeliveryChannels {
    /// The address of one channel, nil when the partner does not use it. Referrals and their updates keep
    /// the address they were written with (each goes to its own path of the peer), so they never move.
    public subscript(channel: DeliveryChannel) -> String? {
        switch channel {
        case .webhook: return webhookUrl
        case .email: return email
        case .referral: return nil
        }
    }
}
