import Foundation

/// When to try a failed delivery again: a schedule of about three days with ±20 % jitter, `Retry-After`
/// honoured within [1×, 2×] of the scheduled delay, and at least a minute after 429 or 5xx. Pure: the
/// caller supplies the random number.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before attempt i+1 (index 0 is the first attempt, sent at once).
    public var schedule: [TimeInterval]
    public var jitter: Double
    public var minimumAfterThrottle: TimeInterval

    public static let standard = RetryPolicy(
        schedule: [0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400], jitter: 0.2,
        minimumAfterThrottle: 60)

    public init(schedule: [TimeInterval], jitter: Double = 0.2, minimumAfterThrottle: TimeInterval = 60) {
        self.schedule = schedule
        self.jitter = jitter
        self.minimumAfterThrottle = minimumAfterThrottle
    }

    /// How many attempts a delivery gets in all.
    public var maxAttempts: Int { schedule.count }

    /// The delay before the next attempt after attempt `attempt` (1-based) failed, or nil when it was the
    /// last. `unit` is a uniform random number in [0, 1).
    public func delay(afterAttempt attempt: Int, status: Int?, retryAfter: TimeInterval?, unit: Double) -> TimeInterval?
    {
        guard attempt >= 1, attempt < schedule.count else { return nil }
        let scheduled = schedule[attempt] * (1 - jitter + 2 * jitter * unit)
        var delay = scheduled
        if let retryAfter {
            delay = min(max(retryAfter, scheduled), 2 * scheduled)
        }
        if let status, status == 429 || (500...599).contains(status) {
            delay = max(delay, minimumAfterThrottle)
        }
        return delay
    }

    /// Parses `Retry-After`: seconds, or an HTTP date (RFC 9110 §10.2.3).
    public static func retryAfter(_ header: String?, now: Date) -> TimeInterval? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if let seconds = Int(header) { return seconds >= 0 ? TimeInterval(seconds) : nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
