import Prometheus
import SwitchboardCore
import Synchronization

/// Per-tool calls, errors, denials and duration; limits that ended commands; background processes;
/// policy reloads and audit-log failures. Listed in docs/metrics.md.
final class ToolMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private struct Series {
        let calls: Counter
        let duration: DurationHistogram
    }
    private let series = Mutex<[String: Series]>([:])
    private let counters = Mutex<[String: Counter]>([:])
    private let running: Gauge

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        running = registry.makeGauge(
            descriptor: .init(namespace: "switchboard", subsystem: "tool", metricName: "processes_running", unitName: "", helpText: "Background processes (start_process) running on this replica")
        )
    }

    /// `outcome` is ok, error (the tool reported isError), denied (policy), invalid (schema) or cancelled.
    func record(tool: String, outcome: String, duration: Duration) {
        let key = tool + "\u{0}" + outcome
        let entry = series.withLock { table -> Series in
            if let existing = table[key] { return existing }
            let created = Series(
                calls: registry.makeCounter(
                    descriptor: .init(namespace: "switchboard", subsystem: "tool", metricName: "calls", unitName: "total", helpText: "Tool calls by tool and outcome (ok, error, denied, invalid, cancelled)"),
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

    /// A policy denial, by tool and rule.
    func denied(tool: String, rule: String) {
        counter("denials", help: "Policy denials by tool and rule", labels: [("tool", tool), ("rule", rule)]).increment()
    }

    /// A limit that ended a command (timeout, output_limit, memory, cpu_time, file_size, lifetime).
    func limitHit(tool: String, limit: String) {
        counter("limit_hits", help: "Commands ended by a limit, by tool and limit", labels: [("tool", tool), ("limit", limit)]).increment()
    }

    func policyReload(succeeded: Bool) {
        counter("policy_reloads", help: "Policy file reloads by result (ok, error)", labels: [("result", succeeded ? "ok" : "error")]).increment()
    }

    func auditFailure() {
        counter("audit_write_errors", help: "Audit records that could not be written", labels: []).increment()
    }

    func processesRunning(_ count: Int) {
        running.set(Int64(count))
    }

    private func counter(_ name: String, help: String, labels: [(String, String)]) -> Counter {
        let key = ([name] + labels.map { $0.0 + "=" + $0.1 }).joined(separator: "\u{0}")
        return counters.withLock { table in
            if let existing = table[key] { return existing }
            let created = registry.makeCounter(
                descriptor: .init(namespace: "switchboard", subsystem: "tool", metricName: name, unitName: "total", helpText: help), labels: labels
            )
            table[key] = created
            return created
        }
    }
}
