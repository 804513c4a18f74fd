import Prometheus
import Synchronization
import SwitchboardCore

/// The supervisor's own metrics on its control API's `/metrics`: each replica's resource use against its
/// limits, restarts, OOM kills, desired and ready replicas, update state and autoscaling decisions.
final class SupervisorMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    private struct ReplicaSeries {
        let cpuSeconds: Counter
        var reportedCPUSeconds: Double
        let cpuLimit: Gauge
        let memory: Gauge
        let memoryLimit: Gauge
        let pids: Gauge
        let healthy: Gauge
    }

    private struct ServiceSeries {
        let desired: Gauge
        let ready: Gauge
        let specVersion: Gauge
        var updateStates: [String: Gauge]
        let restarts: Counter
        let oomKills: Counter
    }

    private struct State {
        var replicas: [Int: ReplicaSeries] = [:]
        var services: [String: ServiceSeries] = [:]
        var autoscale: [String: (desired: Gauge, decisions: [String: Counter])] = [:]
    }

    private let state = Mutex(State())

    static let updateStates = ["none", "updating", "paused", "completed", "rollback_started", "rollback_paused", "rollback_completed"]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func name(_ metric: String, _ unit: String = "") -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "switchboard", subsystem: "supervisor", metricName: metric, unitName: unit, helpText: Self.help[metric + (unit.isEmpty ? "" : "_" + unit)] ?? "")
    }

    private static let help: [String: String] = [
        "replica_cpu_seconds_total": "CPU time used by a replica (its cgroup, else its process group)",
        "replica_cpu_limit_cores": "CPU limit of a replica in cores (deploy.resources.limits.cpus); 0 when none",
        "replica_memory_bytes": "Memory in use by a replica, without inactive page cache (as docker stats)",
        "replica_memory_limit_bytes": "Memory limit of a replica (deploy.resources.limits.memory); 0 when none",
        "replica_pids": "Processes and threads in a replica's cgroup",
        "replica_healthy": "1 while a replica is ready to receive traffic, else 0",
        "service_replicas_desired": "Replicas the supervisor keeps running for a service",
        "service_replicas_ready": "Replicas of a service that are running and healthy",
        "service_spec_version": "Version of the service definition the supervisor runs",
        "service_update_state": "1 for the service's current update state (none, updating, paused, completed, rollback_started, rollback_paused, rollback_completed)",
        "restarts_total": "Replicas restarted by the restart policy",
        "oom_kills_total": "Replicas killed by the kernel for exceeding their memory limit",
        "autoscale_desired_replicas": "Replicas the autoscaler last asked for",
        "autoscale_decisions_total": "Autoscaler evaluations by outcome (scale_up, scale_down, none)",
    ]

    /// Registers or refreshes a task's series from its record.
    func record(_ record: ReplicaRecord) {
        let labels = [("service", record.key.service), ("slot", String(record.key.slot)), ("task", String(record.id))]
        state.withLock { state in
            var series = state.replicas[record.id] ?? ReplicaSeries(
                cpuSeconds: registry.makeCounter(descriptor: name("replica_cpu_seconds", "total"), labels: labels), reportedCPUSeconds: 0,
                cpuLimit: registry.makeGauge(descriptor: name("replica_cpu_limit", "cores"), labels: labels),
                memory: registry.makeGauge(descriptor: name("replica_memory", "bytes"), labels: labels),
                memoryLimit: registry.makeGauge(descriptor: name("replica_memory_limit", "bytes"), labels: labels),
                pids: registry.makeGauge(descriptor: name("replica_pids"), labels: labels),
                healthy: registry.makeGauge(descriptor: name("replica_healthy"), labels: labels)
            )
            series.cpuLimit.set(record.definition.limits.cpuCores ?? 0.0)
            series.memoryLimit.set(record.definition.limits.memory ?? Int64(0))
            series.healthy.set(Int64(record.isReady ? 1 : 0))
            if let usage = record.usage {
                if usage.cpuSeconds > series.reportedCPUSeconds {
                    series.cpuSeconds.increment(by: usage.cpuSeconds - series.reportedCPUSeconds)
                    series.reportedCPUSeconds = usage.cpuSeconds
                }
                series.memory.set(usage.memoryBytes ?? Int64(0))
                series.pids.set(usage.pids ?? Int64(0))
            }
            state.replicas[record.id] = series
        }
    }

    /// Drops a task's series once it is gone.
    func remove(task: Int) {
        guard let series = state.withLock({ $0.replicas.removeValue(forKey: task) }) else { return }
        registry.unregisterCounter(series.cpuSeconds)
        for gauge in [series.cpuLimit, series.memory, series.memoryLimit, series.pids, series.healthy] { registry.unregisterGauge(gauge) }
    }

    func service(_ service: String, desired: Int, ready: Int, specVersion: Int, update: UpdateStatus.State?) {
        withService(service) { series in
            series.desired.set(Int64(desired))
            series.ready.set(Int64(ready))
            series.specVersion.set(Int64(specVersion))
            let current = update?.rawValue ?? "none"
            for (state, gauge) in series.updateStates { gauge.set(Int64(state == current ? 1 : 0)) }
        }
    }

    func restarted(_ service: String) {
        withService(service) { $0.restarts.increment() }
    }

    func oomKilled(_ service: String) {
        withService(service) { $0.oomKills.increment() }
    }

    func autoscaled(_ service: String, desired: Int, outcome: String) {
        state.withLock { state in
            var entry = state.autoscale[service] ?? (registry.makeGauge(descriptor: name("autoscale_desired", "replicas"), labels: [("service", service)]), [:])
            entry.desired.set(Int64(desired))
            let counter = entry.decisions[outcome] ?? registry.makeCounter(
                descriptor: name("autoscale_decisions", "total"), labels: [("service", service), ("outcome", outcome)]
            )
            counter.increment()
            entry.decisions[outcome] = counter
            state.autoscale[service] = entry
        }
    }

    private func withService(_ service: String, _ body: (inout ServiceSeries) -> Void) {
        state.withLock { state in
            let labels = [("service", service)]
            var series = state.services[service] ?? ServiceSeries(
                desired: registry.makeGauge(descriptor: name("service_replicas_desired"), labels: labels),
                ready: registry.makeGauge(descriptor: name("service_replicas_ready"), labels: labels),
                specVersion: registry.makeGauge(descriptor: name("service_spec_version"), labels: labels),
                updateStates: Dictionary(uniqueKeysWithValues: Self.updateStates.map { state in
                    (state, registry.makeGauge(descriptor: name("service_update_state"), labels: [("service", service), ("state", state)]))
                }),
                restarts: registry.makeCounter(descriptor: name("restarts", "total"), labels: labels),
                oomKills: registry.makeCounter(descriptor: name("oom_kills", "total"), labels: labels)
            )
            body(&series)
            state.services[service] = series
        }
    }
}
