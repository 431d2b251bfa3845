import Foundation
import Metrics
import Prometheus
import TakedownStore

/// One Prometheus registry per process, behind swift-metrics; `/metrics` reads it.
public enum MetricsRegistry {
    public static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Routes swift-metrics to the registry (idempotent).
    public static func bootstrap() {
        _ = shared
    }

    /// The exposition text, with the outbox gauges read from the store at scrape time.
    public static func exposition(store: any GatewayStore, now: Date) async -> String {
        let registry = shared
        if let stats = try? await store.outboxStats(now: now) {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "takedown", subsystem: "outbox", metricName: "depth", unitName: "",
                    helpText: "Deliveries waiting to be sent")
            ).set(Double(stats.depth))
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "takedown", subsystem: "outbox", metricName: "oldest_due", unitName: "seconds",
                    helpText: "Age of the oldest due delivery")
            ).set(stats.oldestDueAge)
        }
        return registry.emitToString()
    }
}
