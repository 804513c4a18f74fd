import Prometheus
import SwitchboardCore

/// The learn service's own metrics (listed in docs/metrics.md).
struct LearnMetrics: Sendable {
    /// Time to apply one chunk of at most ``Learner/chunk`` events to every model.
    let update: DurationHistogram
    /// Time to answer one next-call prediction.
    let prediction: DurationHistogram
    let queueDepth: Gauge
    let accepted: Counter
    let dropped: Counter
    /// Prequential top-3 next-call accuracy over the last 1,000 predicted calls (model="next_call").
    let accuracy: Gauge
    let memory: Gauge
    let policyVersion: Gauge
    let modelVersion: Gauge
    private let registry: PrometheusCollectorRegistry

    init(_ metrics: ServiceMetrics) {
        let registry = metrics.registry
        self.registry = registry
        let buckets: [Duration] = [
            .microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(10), .milliseconds(100),
        ]
        update = registry.makeDurationHistogram(
            descriptor: Self.name("update_duration", "seconds", "Time to apply a chunk of up to 256 telemetry events to every model"), buckets: buckets
        )
        prediction = registry.makeDurationHistogram(descriptor: Self.name("prediction_duration", "seconds", "Time to compute one next-call prediction"), buckets: buckets)
        queueDepth = registry.makeGauge(descriptor: Self.name("queue_depth", "", "Telemetry events waiting to be learned from"), labels: [])
        accepted = registry.makeCounter(descriptor: Self.name("events", "total", "Telemetry events accepted into the queue"), labels: [])
        dropped = registry.makeCounter(descriptor: Self.name("events_dropped", "total", "Telemetry events dropped because the queue was full"), labels: [])
        accuracy = registry.makeGauge(
            descriptor: Self.name("model_accuracy", "", "Share of the last 1000 calls that were among the top-3 next calls predicted before they happened"),
            labels: [("model", "next_call")]
        )
        memory = registry.makeGauge(descriptor: Self.name("model_memory", "bytes", "Bytes held by the learned models"), labels: [])
        policyVersion = registry.makeGauge(descriptor: Self.name("policy_version", "", "Version of the published policy"), labels: [])
        modelVersion = registry.makeGauge(descriptor: Self.name("model_version", "", "Model version the models in memory descend from (0: none)"), labels: [])
    }

    /// Counts one anomaly by scope and measure.
    func anomaly(_ anomaly: Anomaly) {
        registry.makeCounter(
            descriptor: Self.name("anomalies", "total", "Anomalies detected on per-tool and per-replica latency and error-rate series"),
            labels: [("scope", anomaly.scope), ("measure", anomaly.measure.rawValue)]
        ).increment()
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "switchboard", subsystem: "learn", metricName: metric, unitName: unit, helpText: help)
    }
}
