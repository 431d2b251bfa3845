import Foundation

/// A time as pages show it: ISO 8601 for the script that writes it in the viewer's zone, and UTC as the
/// text it starts with and as the hover title.
struct TimeView {
    var iso: String
    var utc: String

    init(_ date: Date) {
        iso = date.formatted(.iso8601)
        utc = Self.utcFormat.format(date)
    }

    private static let utcFormat = Date.VerbatimFormatStyle(
        format:
            "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) UTC",
        timeZone: TimeZone(identifier: "UTC")!, calendar: Calendar(identifier: .gregorian))
}

/// A deadline as pages show it: when, and the time left (negative when overdue) for the live clock.
struct ClockView {
    var at: TimeView
    var overdue: Bool
    var left: String

    init(deadline: Date, now: Date) {
        at = TimeView(deadline)
        let seconds = deadline.timeIntervalSince(now)
        overdue = seconds < 0
        left = (overdue ? "overdue by " : "") + Self.span(abs(seconds)) + (overdue ? "" : " left")
    }

    /// "2 d 3 h", "3 h 12 min", "4 min".
    static func span(_ seconds: Double) -> String {
        let minutes = Int(seconds / 60)
        let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60)
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return "\(hours) h \(mins) min" }
        return "\(mins) min"
    }
}
