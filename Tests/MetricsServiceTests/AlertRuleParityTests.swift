import Foundation
import Logging
import SwitchboardCore
import SwitchboardTestSupport
import Testing
import Yams

@testable import MetricsService

/// Runs every case of compose/prometheus/alerts.test.yml — the unit tests `promtool test rules` runs —
/// through the metrics service's own rule engine, so both evaluate alerts.yml the same way.
struct AlertRuleParityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let index: Int
        let interval: Double
        let series: [(key: SeriesKey, values: [Double?])]
        let checks: [(time: Double, alert: String, expected: [(labels: [String: String], summary: String?)])]
        var testDescription: String { "case \(index) (\(checks.map(\.alert).first ?? ""))" }
    }

    static var cases: [Case] {
        let root = TestEnvironment.packageRoot
        guard let text = try? String(contentsOf: root.appendingPathComponent("compose/prometheus/alerts.test.yml"), encoding: .utf8),
            let document = try? Yams.load(yaml: text) as? [String: Any], let tests = document["tests"] as? [[String: Any]]
        else { return [] }
        return tests.enumerated().map { index, test in
            let interval = Units.parseDuration("\(test["interval"] ?? "1m")")?.seconds ?? 60
            let series = ((test["input_series"] as? [[String: Any]]) ?? []).map { item -> (SeriesKey, [Double?]) in
                let sample = try! PrometheusText("\(item["series"]!) 0").samples[0]
                return (SeriesKey(name: sample.name, labels: sample.labels), expand("\(item["values"]!)"))
            }
            let checks = ((test["alert_rule_test"] as? [[String: Any]]) ?? []).map { check -> (Double, String, [([String: String], String?)]) in
                let expected = ((check["exp_alerts"] as? [[String: Any]]) ?? []).map { alert -> ([String: String], String?) in
                    let labels = (alert["exp_labels"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
                    let summary = (alert["exp_annotations"] as? [String: Any])?["summary"].map { "\($0)" }
                    return (labels, summary)
                }
                return (Units.parseDuration("\(check["eval_time"]!)")!.seconds, "\(check["alertname"]!)", expected)
            }
            return Case(index: index, interval: interval, series: series, checks: checks)
        }
    }

    /// promtool's series notation: `1 2 _ 0+10x3` (a+bxn = a, a+b, …, a+nb).
    static func expand(_ notation: String) -> [Double?] {
        var values: [Double?] = []
        for token in notation.split(separator: " ") {
            if token == "_" {
                values.append(nil)
                continue
            }
            guard let x = token.firstIndex(of: "x") else {
                values.append(Double(token))
                continue
            }
            let head = token[..<x]
            let count = Int(token[token.index(after: x)...]) ?? 0
            let signIndex = head.dropFirst().firstIndex { $0 == "+" || $0 == "-" }
            let start = Double(signIndex.map { head[..<$0] } ?? head) ?? 0
            let step = signIndex.map { Double(head[$0...]) ?? 0 } ?? 0
            for n in 0...count { values.append(start + Double(n) * step) }
        }
        return values
    }

    @Test(arguments: cases)
    func ruleEngineAgreesWithPromtool(testCase: Case) async throws {
        #expect(!testCase.checks.isEmpty)
        let rules = try AlertRule.load(path: TestEnvironment.packageRoot.appendingPathComponent("compose/prometheus/alerts.yml").path)
        for check in testCase.checks {
            let store = SeriesStore(retention: 1e9, pointsPerSeries: 100_000)
            let steps = testCase.series.map(\.values.count).max() ?? 0
            for step in 0..<steps {
                let samples = testCase.series.compactMap { key, values -> (SeriesKey, Double)? in
                    guard step < values.count, let value = values[step] else { return nil }
                    return (key, value)
                }
                store.append(samples, at: Double(step) * testCase.interval)
            }
            let clock = TestClock()
            let evaluator = AlertEvaluator(
                rules: rules.filter { $0.name == check.alert }, store: store, notifier: nil,
                metrics: ServiceMetrics(service: "metrics", version: "test"), logger: Logger(label: "test"), interval: .seconds(60), clock: { clock.now }
            )
            // Evaluate every minute up to the check, as promtool does with evaluation_interval 1m.
            var time = 0.0
            while time <= check.time {
                clock.now = time
                await evaluator.evaluate()
                time += 60
            }
            let firing = evaluator.alerts.filter { $0.state == .firing }
            #expect(firing.count == check.expected.count, "\(check.alert) at \(check.time)s: \(firing.map(\.labels))")
            for expected in check.expected {
                let match = firing.first { alert in
                    expected.labels.allSatisfy { key, value in alert.labels.contains { $0 == (key, value) } }
                }
                #expect(match != nil, "\(check.alert): no firing alert with \(expected.labels)")
                if let summary = expected.summary {
                    #expect(match?.annotations.first { $0.0 == "summary" }?.1 == summary)
                }
            }
        }
    }
}

/// A settable clock for deterministic evaluation.
final class TestClock: @unchecked Sendable {
    var now: Double = 0
}
