import Learning
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
    /// 1 while an experiment runs.
    let experimentRunning: Gauge
    /// Resource samples learned from (``ResourceSample``).
    let resourceSamples: Counter
    /// Checkpoints not written to (or read from) PostgreSQL.
    let postgresFailures: Counter
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
        resourceSamples = registry.makeCounter(
            descriptor: Self.name("resource_samples", "total", "Per-replica resource samples (CPU, memory, in-flight, queue depth) learned from"), labels: []
        )
        postgresFailures = registry.makeCounter(
            descriptor: Self.name("checkpoint_postgres_failures", "total", "Checkpoint writes or reads that failed against PostgreSQL (the disk copy is unaffected)"),
            labels: []
        )
        experimentRunning = registry.makeGauge(descriptor: Self.name("experiment_running", "", "1 while a policy experiment (shadow or canary) runs"), labels: [])
    }

    /// Counts one anomaly by scope and measure.
    func anomaly(_ anomaly: Anomaly) {
        registry.makeCounter(
            descriptor: Self.name("anomalies", "total", "Anomalies detected on per-tool and per-replica latency and error-rate series and per-replica resource series"),
            labels: [("scope", anomaly.scope), ("measure", anomaly.measure.rawValue)]
        ).increment()
    }

    /// Counts calls attributed to one arm of the running experiment.
    func experimentEvents(arm: String, _ count: Int) {
        registry.makeCounter(descriptor: Self.name("experiment_events", "total", "Calls attributed to an arm of the running policy experiment"), labels: [("arm", arm)])
            .increment(by: Int64(count))
    }

    /// The running experiment's arms as the guardrail compares them.
    func experimentArms(_ control: ArmEstimate, _ candidate: ArmEstimate) {
        for (arm, estimate) in [("control", control), ("candidate", candidate)] {
            registry.makeGauge(descriptor: Self.name("experiment_latency", "seconds", "Mean call latency of an experiment arm"), labels: [("arm", arm)])
                .set(estimate.latencyMean / 1000)
            registry.makeGauge(descriptor: Self.name("experiment_error", "ratio", "Error rate of an experiment arm"), labels: [("arm", arm)])
                .set(estimate.errorRate)
        }
    }

    /// Counts a concluded experiment by outcome (promoted, reverted, stopped).
    func experimentConcluded(_ outcome: String) {
        registry.makeCounter(descriptor: Self.name("experiments_concluded", "total", "Policy experiments concluded, by outcome"), labels: [("outcome", outcome)])
            .increment()
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "switchboard", subsystem: "learn", metricName: metric, unitName: unit, helpText: help)
    }
}
