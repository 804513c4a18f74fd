import Prometheus
import Synchronization

/// A Prometheus counter family whose series are created on first use, one per combination of label
/// values (keep the values bounded: tool names, outcomes, kinds — never free text).
public final class CounterFamily: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: (namespace: String?, subsystem: String?, metric: String, unit: String, help: String)
    private let labelNames: [String]
    private let series = Mutex<[[String]: Counter]>([:])

    public init(registry: PrometheusCollectorRegistry, descriptor: MetricNameDescriptor, labels: [String]) {
        self.registry = registry
        name = (descriptor.namespace, descriptor.subsystem, descriptor.metricName, descriptor.unitName ?? "", descriptor.helpText ?? "")
        labelNames = labels
    }

    /// Adds `amount` to the series with these label values (in the order the labels were declared).
    public func increment(_ values: String..., by amount: Int64 = 1) {
        precondition(values.count == labelNames.count, "\(name.metric) takes labels \(labelNames)")
        let counter = series.withLock { table -> Counter in
            if let existing = table[values] { return existing }
            let descriptor = MetricNameDescriptor(
                namespace: name.namespace, subsystem: name.subsystem, metricName: name.metric, unitName: name.unit, helpText: name.help
            )
            let created = registry.makeCounter(descriptor: descriptor, labels: Array(zip(labelNames, values)))
            table[values] = created
            return created
        }
        counter.increment(by: amount)
    }
}
