import Foundation
import TakedownModel
import TakedownService

/// A partner's scorecard as a page shows it: the overall figures and two charts drawn on the server as
/// SVG (times to acknowledgement and to removal: how they spread, and the median and p90 by month).
struct ScorecardView {
    struct Figure {
        var label: String
        var count: Int
        var median: String
        var p90: String
    }

    var notices: Int
    var acknowledged: Int
    var removed: Int
    var figures: [Figure]
    /// Inline SVG, built from numbers and escaped labels only.
    var distribution: String
    var monthlyAcknowledgement: String
    var monthly: String

    static func build(for partner: Partner, _ figureDesk: FigureDesk) async throws -> ScorecardView {
        let card = try await figureDesk.scorecard(partner.id)
        let rows = try await figureDesk.removalRows(from: nil, to: nil, partner: partner.id)
        let overall = card.overall
        func figure(_ label: String, _ durations: RemovalFigures.Durations) -> Figure {
            Figure(
                label: label, count: durations.count,
                median: durations.medianSeconds.map(ClockView.span) ?? "–",
                p90: durations.p90Seconds.map(ClockView.span) ?? "–")
        }
        return ScorecardView(
            notices: overall.notices, acknowledged: overall.acknowledged, removed: overall.removed,
            figures: [
                figure("Time to acknowledgement", overall.timeToAcknowledge),
                figure("Time to removal", overall.timeToRemoval),
            ],
            distribution: SVGChart.distribution(
                title: "How long \(partner.name) took, notice by notice",
                series: [
                    ("acknowledgement", rows.compactMap(\.secondsToAcknowledge)),
                    ("removal", rows.compactMap(\.secondsToRemoval)),
                ]),
            monthlyAcknowledgement: SVGChart.monthly(
                title: "Median and p90 time to acknowledgement by month, \(partner.name)",
                months: card.byMonth.map {
                    ($0.label, $0.figures.timeToAcknowledge.medianSeconds, $0.figures.timeToAcknowledge.p90Seconds)
                }),
            monthly: SVGChart.monthly(
                title: "Median and p90 time to removal by month, \(partner.name)",
                months: card.byMonth.map {
                    ($0.label, $0.figures.timeToRemoval.medianSeconds, $0.figures.timeToRemoval.p90Seconds)
                }))
    }
}

/// Bar charts as SVG strings: fixed geometry, classes for colour (the stylesheet paints them, so the
/// content security policy needs no inline style), a title and description for screen readers.
enum SVGChart {
    static let buckets: [(label: String, upTo: Double)] = [
        ("< 1 h", 3600), ("1–4 h", 4 * 3600), ("4–24 h", 86400), ("1–3 d", 3 * 86400), ("3–7 d", 7 * 86400),
        ("> 7 d", .infinity),
    ]

    /// How many durations fall in each bucket, one bar per series in each.
    static func distribution(title: String, series: [(name: String, seconds: [Double])]) -> String {
        let counts = series.map { entry in
            buckets.indices.map { index in
                entry.seconds.count { value in
                    value < buckets[index].upTo && (index == 0 || value >= buckets[index - 1].upTo)
                }
            }
        }
        let top = max(1, counts.flatMap { $0 }.max() ?? 1)
        let (width, height, left, bottom) = (600.0, 220.0, 40.0, 30.0)
        let slot = (width - left) / Double(buckets.count)
        let bar = (slot - 12) / Double(max(1, series.count))
        var svg = open(width, height, title: title, description: summary(series, counts))
        svg += axis(top: Double(top), width: width, height: height, left: left, bottom: bottom)
        for (index, bucket) in buckets.enumerated() {
            let x = left + Double(index) * slot
            for (which, entry) in counts.enumerated() {
                let h = (height - bottom - plotTop) * Double(entry[index]) / Double(top)
                svg += """
                    <rect class="bar bar-\(which)" x="\(fmt(x + 6 + Double(which) * bar))" y="\(fmt(height - bottom - h))" \
                    width="\(fmt(bar - 2))" height="\(fmt(h))"><title>\(escape(series[which].name)) \
                    \(escape(bucket.label)): \(entry[index])</title></rect>
                    """
            }
            svg += "<text class=\"label\" x=\"\(fmt(x + slot / 2))\" y=\"\(fmt(height - 10))\" text-anchor=\"middle\">"
            svg += "\(escape(bucket.label))</text>"
        }
        svg += legend(series.map(\.name), x: left)
        return svg + "</svg>"
    }

    /// Median and p90 bars per month, in hours.
    static func monthly(title: String, months: [(label: String, median: Double?, p90: Double?)]) -> String {
        let shown = months.suffix(12)
        // At least an hour high, so a month of answers within seconds draws short bars, not full ones.
        let top = max(1, (shown.compactMap { $0.p90 ?? $0.median }.max() ?? 0) / 3600)
        let (width, height, left, bottom) = (600.0, 220.0, 40.0, 30.0)
        let slot = (width - left) / Double(max(1, shown.count))
        let description =
            shown.isEmpty
            ? "No figures yet."
            : shown.map {
                "\($0.label): median \($0.median.map(ClockView.span) ?? "none"), p90 \($0.p90.map(ClockView.span) ?? "none")"
            }
            .joined(separator: "; ")
        var svg = open(width, height, title: title, description: description)
        svg += axis(top: top, width: width, height: height, left: left, bottom: bottom, unit: " h")
        for (index, month) in shown.enumerated() {
            let x = left + Double(index) * slot
            for (which, value) in [month.median, month.p90].enumerated() {
                let h = (height - bottom - plotTop) * min(1, (value ?? 0) / 3600 / top)
                svg += """
                    <rect class="bar bar-\(which)" x="\(fmt(x + 6 + Double(which) * (slot - 12) / 2))" \
                    y="\(fmt(height - bottom - h))" width="\(fmt((slot - 12) / 2 - 2))" height="\(fmt(h))">\
                    <title>\(escape(month.label)) \(which == 0 ? "median" : "p90"): \
                    \(value.map(ClockView.span) ?? "none")</title></rect>
                    """
            }
            svg += "<text class=\"label\" x=\"\(fmt(x + slot / 2))\" y=\"\(fmt(height - 10))\" text-anchor=\"middle\">"
            svg += "\(escape(month.label))</text>"
        }
        svg += legend(["median", "p90"], x: left)
        return svg + "</svg>"
    }

    private static func open(_ width: Double, _ height: Double, title: String, description: String) -> String {
        let id = UUID().uuidString.prefix(8)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 \(fmt(width)) \(fmt(height))" \
            role="img" aria-labelledby="t\(id) d\(id)"><title id="t\(id)">\(escape(title))</title>\
            <desc id="d\(id)">\(escape(description))</desc>
            """
    }

    private static func axis(
        top: Double, width: Double, height: Double, left: Double, bottom: Double, unit: String = ""
    ) -> String {
        let base = height - bottom
        return """
            <line class="axis" x1="\(fmt(left))" y1="\(fmt(base))" x2="\(fmt(width))" y2="\(fmt(base))"/>\
            <text class="label" x="\(fmt(left - 4))" y="\(fmt(plotTop + 4))" text-anchor="end">\(fmt(top))\(unit)</text>\
            <text class="label" x="\(fmt(left - 4))" y="\(fmt(base))" text-anchor="end">0</text>
            """
    }

    /// Where the bars may reach: below the legend, which runs along the top.
    static let plotTop = 30.0

    private static func legend(_ names: [String], x: Double) -> String {
        names.enumerated().map { index, name in
            let at = x + Double(index) * 130
            return "<rect class=\"bar bar-\(index)\" x=\"\(fmt(at))\" y=\"6\" width=\"10\" height=\"10\"/>"
                + "<text class=\"label\" x=\"\(fmt(at + 14))\" y=\"15\">\(escape(name))</text>"
        }.joined()
    }

    private static func summary(_ series: [(name: String, seconds: [Double])], _ counts: [[Int]]) -> String {
        zip(series, counts).map { entry, counts in
            "\(entry.name): " + zip(buckets, counts).map { "\($0.label) \($1)" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    static func fmt(_ value: Double) -> String {
        value.isFinite ? String(format: "%.1f", value) : "0"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
