import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Evaluates the alert rules on an interval with Prometheus's semantics: an expression result is
/// pending until it has held for `for`, then firing; it resolves when the result disappears.
/// Firing and resolved transitions go to the notifier.
final class AlertEvaluator: Service, Sendable {
    let rules: [AlertRule]
    let interval: Duration
    private let evaluator: PromQLEvaluator
    private let notifier: WebhookNotifier?
    private let logger: Logger
    private let clock: @Sendable () -> Double
    private let active = Mutex<[String: Alert]>([:])
    private let errors = Mutex<[String: String]>([:])
    private let firingGauge: Gauge

    init(
        rules: [AlertRule], store: SeriesStore, notifier: WebhookNotifier?, metrics: ServiceMetrics, logger: Logger, interval: Duration,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.rules = rules
        self.interval = interval
        self.evaluator = PromQLEvaluator(store: store)
        self.notifier = notifier
        self.logger = logger
        self.clock = clock
        firingGauge = metrics.registry.makeGauge(
            descriptor: .init(namespace: "switchboard", subsystem: "alerts", metricName: "firing", unitName: "", helpText: "Alerts currently firing")
        )
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.evaluate()
            }
        }
    }

    /// Alerts that are pending or firing, and those resolved in the last evaluation.
    var alerts: [Alert] { active.withLock { Array($0.values) }.sorted { ($0.rule, $0.fingerprint) < ($1.rule, $1.fingerprint) } }

    /// Rules whose last evaluation failed, with why.
    var ruleErrors: [String: String] { errors.withLock { $0 } }

    /// One evaluation round.
    func evaluate() async {
        let now = clock()
        var transitions: [Alert] = []
        for rule in rules {
            let samples: [VectorSample]
            do {
                switch try evaluator.evaluate(rule.expression, at: now) {
                case .vector(let vector): samples = vector
                case .scalar(let value): samples = value != 0 && !value.isNaN ? [VectorSample(name: nil, labels: [], value: value)] : []
                default: samples = []
                }
                errors.withLock { $0[rule.name] = nil }
            } catch {
                errors.withLock { $0[rule.name] = error.description }
                logger.warning("alert rule failed", metadata: ["alert": .string(rule.name), "error": .string(error.description)])
                continue
            }
            transitions += update(rule, samples, now: now)
        }
        firingGauge.set(Double(active.withLock { $0.values.filter { $0.state == .firing }.count }))
        if let notifier, !transitions.isEmpty {
            await notifier.send(transitions)
        }
    }

    private func update(_ rule: AlertRule, _ samples: [VectorSample], now: Double) -> [Alert] {
        active.withLock { table in
            var transitions: [Alert] = []
            var seen: Set<String> = []
            for sample in samples {
                var labels = sample.labels.filter { $0.name != "__name__" }.map { ($0.name, $0.value) }
                for (name, value) in rule.labels where !labels.contains(where: { $0.0 == name }) { labels.append((name, value)) }
                labels.append(("alertname", rule.name))
                labels.sort { $0.0 < $1.0 }
                var alert = Alert(
                    rule: rule.name, labels: labels, annotations: [], state: .pending, value: sample.value, activeSince: now, firedAt: nil,
                    resolvedAt: nil
                )
                let key = alert.fingerprint
                seen.insert(key)
                if let existing = table[key], existing.state != .resolved { alert = existing }
                alert.value = sample.value
                alert.annotations = rule.annotations.map { ($0.0, Self.expand($0.1, labels: labels, value: sample.value)) }
                if alert.state == .pending, now - alert.activeSince >= rule.holdFor {
                    alert.state = .firing
                    alert.firedAt = now
                    transitions.append(alert)
                }
                table[key] = alert
            }
            for (key, alert) in table where alert.rule == rule.name && !seen.contains(key) {
                if alert.state == .firing {
                    var resolved = alert
                    resolved.state = .resolved
                    resolved.resolvedAt = now
                    transitions.append(resolved)
                    table[key] = resolved
                } else {
                    table[key] = nil
                }
            }
            return transitions
        }
    }

    /// `{{ $labels.name }}`, `{{ $value }}`, `{{ $value | humanize }}` and `{{ $value | humanizePercentage }}`
    /// in annotations, formatted like Prometheus's template functions.
    static func expand(_ template: String, labels: [(String, String)], value: Double) -> String {
        var text = template
        for (name, labelValue) in labels {
            text = text.replacingOccurrences(of: "{{ $labels.\(name) }}", with: labelValue)
            text = text.replacingOccurrences(of: "{{$labels.\(name)}}", with: labelValue)
        }
        text = text.replacingOccurrences(of: "{{ $value | humanizePercentage }}", with: humanize(value * 100) + "%")
        text = text.replacingOccurrences(of: "{{ $value | humanize }}", with: humanize(value))
        let plain = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        text = text.replacingOccurrences(of: "{{ $value }}", with: plain)
        return text.replacingOccurrences(of: "{{$value}}", with: plain)
    }

    /// Prometheus's `humanize`: four significant digits with an SI prefix.
    static func humanize(_ value: Double) -> String {
        guard value != 0, value.isFinite else { return String(format: "%.4g", value) }
        var v = value
        var prefix = ""
        if abs(v) >= 1 {
            for candidate in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if abs(v) < 1000 { break }
                prefix = candidate
                v /= 1000
            }
        } else {
            for candidate in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                if abs(v) >= 1 { break }
                prefix = candidate
                v *= 1000
            }
        }
        return String(format: "%.4g", v) + prefix
    }
}
