import Foundation
import SwitchboardCore
import Testing

@testable import MetricsService

struct PromQLTests {
    /// A store with `name{labels}` sampled every `step` seconds from t=0.
    func store(_ series: [(String, [(String, String)], [Double])], step: Double = 15) -> SeriesStore {
        let store = SeriesStore(retention: 1e9, pointsPerSeries: 10_000)
        let length = series.map(\.2.count).max() ?? 0
        for index in 0..<length {
            store.append(series.compactMap { name, labels, values in
                index < values.count ? (SeriesKey(name: name, labels: labels), values[index]) : nil
            }, at: Double(index) * step)
        }
        return store
    }

    func vector(_ query: String, _ store: SeriesStore, at time: Double) throws -> [String: Double] {
        guard case .vector(let samples) = try PromQLEvaluator(store: store).evaluate(query, at: time) else {
            Issue.record("not a vector")
            return [:]
        }
        return Dictionary(uniqueKeysWithValues: samples.map { ($0.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ","), $0.value) })
    }

    @Test func parsesTheSubsetAndRejectsTheRest() throws {
        let parsed = try PromQLParser.parse(#"sum by (service) (rate(http_requests_total{code=~"5..", job!="x"}[5m])) / on(service) sum by (service) (rate(http_requests_total[5m])) > bool 0.1"#)
        guard case .binary(">", _, .number(0.1), let matching) = parsed else {
            Issue.record("unexpected tree \(parsed)")
            return
        }
        #expect(matching.returnBool)
        #expect(throws: PromQLError.self) { try PromQLParser.parse("rate(x[5m]") }
        #expect(throws: PromQLError.self) { try PromQLParser.parse("nosuchfn(x)") }
        #expect(throws: PromQLError.self) { try PromQLParser.parse("x{a=b}") }
        #expect(throws: PromQLError.self) { try PromQLParser.parse("(x + 1)[5m]") }
        #expect(throws: PromQLError.self) { try PromQLParser.parse("a * on(b) group_left c") }
    }

    @Test func rateOfASteadyCounterIsItsSlope() throws {
        // 2 per second, sampled every 15 s.
        let store = self.store([("requests_total", [("job", "a")], (0..<40).map { Double($0) * 30 })])
        let rate = try vector("rate(requests_total[5m])", store, at: 585)
        #expect(abs(rate["job=a"]! - 2) < 1e-9)
        // increase over 1m extrapolates to the whole window: 120.
        #expect(abs(try vector("increase(requests_total[1m])", store, at: 585)["job=a"]! - 120) < 1e-9)
    }

    @Test func counterResetsAreNotNegativeRates() throws {
        let store = self.store([("c_total", [], [10, 20, 30, 5, 15, 25])])
        let rate = try vector("rate(c_total[1m30s])", store, at: 75)[""]!
        #expect(rate > 0)
        // 10 → 30 (+20), reset to 5 (+5), 5 → 25 (+20): 45 over 75 s of samples; the window starts 15 s
        // before the first sample (within 1.1 average intervals), so it extrapolates to 90 s: 54.
        #expect(abs(try vector("increase(c_total[1m30s])", store, at: 75)[""]! - 54) < 1e-9)
    }

    @Test func histogramQuantileInterpolatesInsideTheBucket() throws {
        let buckets: [(String, [(String, String)], [Double])] = [
            ("d_bucket", [("le", "0.5")], (0..<20).map { Double($0) * 10 }),
            ("d_bucket", [("le", "1")], (0..<20).map { Double($0) * 20 }),
            ("d_bucket", [("le", "2.5")], (0..<20).map { Double($0) * 100 }),
            ("d_bucket", [("le", "+Inf")], (0..<20).map { Double($0) * 100 }),
        ]
        let q = try vector("histogram_quantile(0.95, sum by (le) (rate(d_bucket[5m])))", store(buckets, step: 60), at: 720)
        // The same figure promtool computes for the same input (alerts.test.yml): 1 + 1.5 × 75/80.
        #expect(abs(q[""]! - 2.40625) < 1e-9)
    }

    @Test func aggregationMatchingAndComparison() throws {
        let store = self.store([
            ("up", [("service", "tools"), ("replica", "1")], [1, 1]),
            ("up", [("service", "tools"), ("replica", "2")], [1, 0]),
            ("up", [("service", "gateway"), ("replica", "1")], [1, 1]),
            ("limit", [("service", "tools"), ("replica", "1")], [4, 4]),
            ("limit", [("service", "tools"), ("replica", "2")], [2, 2]),
        ])
        #expect(try vector("sum by (service) (up)", store, at: 15) == ["service=gateway": 1, "service=tools": 1])
        #expect(try vector("up == 0", store, at: 15) == ["replica=2,service=tools": 0])
        #expect(try vector("up / limit", store, at: 0) == ["replica=1,service=tools": 0.25, "replica=2,service=tools": 0.5])
        #expect(try vector("count without (replica) (up)", store, at: 15) == ["service=gateway": 1, "service=tools": 2])
        #expect(try vector("up > bool 0", store, at: 15)["replica=2,service=tools"] == 0)
        #expect(try vector("up unless on(service) limit", store, at: 15) == ["replica=1,service=gateway": 1])
        #expect(try vector(#"up{service=~"gate.*"}"#, store, at: 15).count == 1)
        // Stale beyond the 5-minute lookback: nothing.
        #expect(try vector("up", store, at: 15 + 301).isEmpty)
    }

    @Test func manyToManyMatchingIsAClearError() {
        let store = self.store([("a", [("x", "1")], [1]), ("b", [("x", "1"), ("y", "1")], [1]), ("b", [("x", "1"), ("y", "2")], [1])])
        #expect(throws: PromQLError.self) { try PromQLEvaluator(store: store).evaluate("a / on(x) b", at: 0) }
    }
}
