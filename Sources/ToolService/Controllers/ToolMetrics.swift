import Prometheus
import SwitchboardCore
import Synchronization

/// Per-tool calls, errors, denials and duration.
final class ToolMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private struct Series {
        let calls: Counter
        let duration: DurationHistogram
    }
    private let series = Mutex<[String: Series]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// `outcome` is ok, error (tool reported isError), denied (policy) or cancelled (the caller went away or cancelled).
    func record(tool: String, outcome: String, duration: Duration) {
        let key = tool + "\u{0}" + outcome
        let entry = series.withLock { table -> Series in
            if let existing = table[key] { return existing }
            let created = Series(
                calls: registry.makeCounter(
                    descriptor: .init(namespace: "switchboard", subsystem: "tool", metricName: "calls", unitName: "total", helpText: "Tool calls by tool and outcome (ok, error, denied, cancelled)"),
                    labels: [("tool", tool), ("outcome", outcome)]
                ),
                duration: registry.makeDurationHistogram(
                    descriptor: .init(namespace: "switchboard", subsystem: "tool", metricName: "call_duration", unitName: "seconds", helpText: "Tool call duration by tool"),
                    labels: [("tool", tool)],
                    buckets: ServiceMetrics.latencyBuckets
                )
            )
            table[key] = created
            return created
        }
        entry.calls.increment()
        entry.duration.record(duration)
    }
}
