import Foundation
import Synchronization
import TakedownModel

/// How fast one caller may send requests: a token bucket that refills `perSecond` and holds `burst`.
public struct RateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// The limit of each kind of caller; nil means unlimited. Anonymous callers are counted per address.
public struct RateLimits: Sendable, Equatable {
    public var admin: RateLimit? = RateLimit(perSecond: 100, burst: 1_000)
    public var analyst: RateLimit? = RateLimit(perSecond: 100, burst: 1_000)
    public var partner: RateLimit? = RateLimit(perSecond: 50, burst: 500)
    public var anonymous: RateLimit? = RateLimit(perSecond: 20, burst: 100)

    public init() {}

    public static let off: RateLimits = {
        var limits = RateLimits()
        limits.admin = nil
        limits.analyst = nil
        limits.partner = nil
        limits.anonymous = nil
        return limits
    }()

    /// Parses `partner=10/100,anonymous=5/20` (requests per second / burst; a role left out keeps its
    /// default, `ROLE=off` lifts its limit) or `off`.
    public init?(parsing text: String) {
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "off" {
            self = .off
            return
        }
        self.init()
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { return nil }
            let limit: RateLimit?
            if pair[1].lowercased() == "off" {
                limit = nil
            } else {
                let numbers = pair[1].split(separator: "/", omittingEmptySubsequences: false)
                guard numbers.count == 2, let rate = Double(numbers[0]), rate.isFinite, rate > 0, rate <= 1e6,
                    let burst = Int(numbers[1]), (1...1_000_000).contains(burst)
                else { return nil }
                limit = RateLimit(perSecond: rate, burst: burst)
            }
            switch pair[0].lowercased() {
            case "admin": admin = limit
            case "analyst": analyst = limit
            case "partner": partner = limit
            case "anonymous": anonymous = limit
            default: return nil
            }
        }
    }

    func limit(for principal: Principal) -> RateLimit? {
        switch principal {
        case .admin: return admin
        case .analyst: return analyst
        case .partner: return partner
        }
    }
}

/// Token buckets keyed by caller, shared by every request of one process.
public final class RateLimiter: Sendable {
    /// What a request may do: go on, or wait `retryAfter` seconds.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        public var limit: Int
        public var remaining: Int
        /// Seconds until the bucket is full again (RateLimit-Reset), or until one request fits when refused.
        public var reset: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: @Sendable () -> Double
    /// Buckets kept at most; full buckets are dropped first when it is reached.
    private let capacity: Int

    public init(capacity: Int = 100_000, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.capacity = capacity
        self.clock = clock
    }

    /// Takes one token from `key`'s bucket if there is one.
    public func take(_ key: String, _ limit: RateLimit) -> Decision {
        let now = clock()
        let burst = Double(limit.burst)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.updated) * limit.perSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if buckets[key] == nil, buckets.count >= capacity {
                Self.evict(&buckets, now: now, limit: limit, capacity: capacity)
            }
            buckets[key] = bucket
            let untilFull = (burst - bucket.tokens) / limit.perSecond
            let untilOne = allowed ? 0 : (1 - bucket.tokens) / limit.perSecond
            return Decision(
                allowed: allowed, limit: limit.burst, remaining: Int(bucket.tokens.rounded(.down)),
                reset: Int(min(allowed ? untilFull : untilOne, 86_400).rounded(.up)).clamped(minimum: allowed ? 0 : 1))
        }
    }

    /// Drops buckets that have refilled (they hold nothing a fresh bucket would not), or half of all when
    /// every caller is busy, so a flood of new keys cannot grow memory without bound.
    private static func evict(_ buckets: inout [String: Bucket], now: Double, limit: RateLimit, capacity: Int) {
        let full = Double(limit.burst)
        buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * limit.perSecond < full }
        if buckets.count >= capacity / 2 {
            let keep = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(capacity / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

extension Int {
    fileprivate func clamped(minimum: Int) -> Int { Swift.max(self, minimum) }
}
