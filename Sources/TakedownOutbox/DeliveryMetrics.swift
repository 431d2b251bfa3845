import Metrics
import TakedownModel

/// Delivery counters and attempt latency for `/metrics`.
enum DeliveryMetrics {
    static func record(outcome: DeliveryOutcome, latencyMs: Int) {
        let label: String
        switch outcome {
        case .succeeded: label = "succeeded"
        case .retry: label = "retry"
        case .dead: label = "dead"
        case .endpointGone: label = "gone"
        }
        Counter(label: "takedown_deliveries_total", dimensions: [("outcome", label)]).increment()
        Timer(label: "takedown_delivery_attempt_seconds").recordMilliseconds(latencyMs)
    }
}
