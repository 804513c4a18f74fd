import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// The HPA algorithm with injected time: every number below is what the Kubernetes formulas give.
struct HorizontalAutoscalerTests {
    private func spec(_ yaml: String) throws -> AutoscaleSpec {
        try #require(try ComposeLoader.parse("services:\n  a:\n    image: x\n    x-autoscale:\n" + yaml, variables: [:])["a"]?.autoscale)
    }

    private func gauge(_ values: [Double?], target: Double = 10, unready: Int = 0) -> MetricReading {
        MetricReading(target: .metric(name: "queue_depth", average: target), ready: values.map { ($0, 1) }, unready: Array(repeating: 1, count: unready))
    }

    @Test func theRatioIsCeiledOutsideTheTolerance() throws {
        var autoscaler = HorizontalAutoscaler(spec: try spec("      max: 10\n      metrics: [{name: queue_depth, target: 10}]\n"))
        let t0 = ContinuousClock.now
        // 3 replicas averaging 10.5: ratio 1.05, inside the 10 % tolerance.
        #expect(autoscaler.evaluate(now: t0, current: 3, readings: [gauge([10, 11, 10.5])]).desired == 3)
        // Averaging 12: ratio 1.2 → ceil(1.2 × 3) = 4.
        let up = autoscaler.evaluate(now: t0 + .seconds(15), current: 3, readings: [gauge([12, 12, 12])])
        #expect(up.desired == 4)
        #expect(up.metrics.first?.ratio == 1.2)
        #expect(up.outcome == "scale_up")
    }

    @Test func utilisationIsOfTheRequestAndTheLargestMetricWins() throws {
        var autoscaler = HorizontalAutoscaler(spec: try spec("      max: 10\n      cpu: 60%\n      in_flight: 4\n"))
        // CPU: (0.4 + 0.5) / (0.5 + 0.5) = 90 % of the request, against 60 %: ratio 1.5 → 3.
        let cpu = MetricReading(target: .cpuUtilization(60), ready: [(0.4, 0.5), (0.5, 0.5)], unready: [])
        // In flight: average 2 against 4: ratio 0.5 → 1.
        let inFlight = MetricReading(target: .metric(name: AutoscaleSpec.inFlightMetric, average: 4), ready: [(2, 1), (2, 1)], unready: [])
        let decision = autoscaler.evaluate(now: .now, current: 2, readings: [cpu, inFlight])
        #expect(decision.metrics.map(\.proposal) == [3, 1])
        #expect(decision.metrics.first?.current == 90)
        #expect(decision.desired == 3)
    }

    @Test func missingAndUnreadyReplicasCountAsTheHPACountsThem() {
        let tolerance = (0.1, 0.1)
        // Scale-down with one replica missing its metric: it counts as exactly at target, (2+2+10)/(3×10) ≈ 0.47 → ceil(1.4) = 2.
        let down = HorizontalAutoscaler.outcome(of: gauge([2, 2, nil]), current: 3, tolerances: tolerance)
        #expect(down.proposal == 2)
        // Scale-up with an unready replica: it counts as 0, 30 / (3×10) = 1.0: inside the tolerance → keep 3.
        let unready = HorizontalAutoscaler.outcome(of: gauge([15, 15], unready: 1), current: 3, tolerances: tolerance)
        #expect(unready.proposal == 3)
        // Scale-up with one missing: counted as 0, (20+20+0)/30 = 1.33 → ceil(4) = 4.
        let missing = HorizontalAutoscaler.outcome(of: gauge([20, 20, nil]), current: 3, tolerances: tolerance)
        #expect(missing.proposal == 4)
        // No replica reported: no answer.
        #expect(HorizontalAutoscaler.outcome(of: gauge([nil, nil]), current: 2, tolerances: tolerance).proposal == nil)
    }

    @Test func scaleDownIsStabilizedOverItsWindow() throws {
        var autoscaler = HorizontalAutoscaler(spec: try spec("      max: 10\n      metrics: [{name: queue_depth, target: 10}]\n"))
        let t0 = ContinuousClock.now
        #expect(autoscaler.evaluate(now: t0, current: 4, readings: [gauge([10, 10, 10, 10])]).desired == 4)
        // Load falls to 2.5 per replica: the recommendation is 1, but the highest of the last 300 s (4) holds.
        let held = autoscaler.evaluate(now: t0 + .seconds(60), current: 4, readings: [gauge([2.5, 2.5, 2.5, 2.5])])
        #expect(held.recommendation == 1)
        #expect(held.desired == 4)
        #expect(held.reason == "scale-down stabilized")
        // 301 s after the 4: only recommendations of 1 are left in the window.
        let released = autoscaler.evaluate(now: t0 + .seconds(301), current: 4, readings: [gauge([2.5, 2.5, 2.5, 2.5])])
        #expect(released.desired == 1)
    }

    @Test func scaleUpIsLimitedByTheDefaultPolicies() throws {
        var autoscaler = HorizontalAutoscaler(spec: try spec("      max: 50\n      metrics: [{name: queue_depth, target: 10}]\n"))
        let t0 = ContinuousClock.now
        // 2 replicas at 100 each want 20; max(2 + 4 pods, 2 × 200 %) = 6 in 15 s.
        let first = autoscaler.evaluate(now: t0, current: 2, readings: [gauge([100, 100])])
        #expect(first.desired == 6)
        #expect(first.reason == "scale-up rate limit")
        autoscaler.recordScale(from: 2, to: 6, at: t0)
        // 10 s later the period still started at 2 replicas: no more than 6.
        #expect(autoscaler.evaluate(now: t0 + .seconds(10), current: 6, readings: [gauge(Array(repeating: 100, count: 6))]).desired == 6)
        // 16 s later the period starts at 6: max(6 + 4, 6 × 2) = 12.
        #expect(autoscaler.evaluate(now: t0 + .seconds(16), current: 6, readings: [gauge(Array(repeating: 100, count: 6))]).desired == 12)
    }

    @Test func policiesSelectMinAndDisabledAndCooldownsHold() throws {
        var minimal = HorizontalAutoscaler(spec: try spec("""
                  max: 50
                  metrics: [{name: queue_depth, target: 10}]
                  scale_up: {select_policy: min, cooldown: 1m}
                  scale_down: {select_policy: disabled}

            """))
        let t0 = ContinuousClock.now
        // min(2 + 4, 2 × 2) = 4.
        #expect(minimal.evaluate(now: t0, current: 2, readings: [gauge([100, 100])]).desired == 4)
        minimal.recordScale(from: 2, to: 4, at: t0)
        let cooling = minimal.evaluate(now: t0 + .seconds(30), current: 4, readings: [gauge([100, 100, 100, 100])])
        #expect(cooling.desired == 4)
        #expect(cooling.reason == "scale-up cooldown")
        // Scale-down disabled: load gone, replicas stay.
        #expect(minimal.evaluate(now: t0 + .seconds(700), current: 4, readings: [gauge([0, 0, 0, 0])]).desired == 4)
    }

    @Test func minAndMaxBoundEverything() throws {
        var autoscaler = HorizontalAutoscaler(spec: try spec("      min: 2\n      max: 3\n      metrics: [{name: queue_depth, target: 10}]\n"))
        #expect(autoscaler.evaluate(now: .now, current: 5, readings: []).desired == 3)
        #expect(autoscaler.evaluate(now: .now, current: 1, readings: []).desired == 2)
        #expect(autoscaler.evaluate(now: .now, current: 0, readings: []).reason == "scaled to zero: autoscaling is off")
        let capped = autoscaler.evaluate(now: .now, current: 2, readings: [gauge([100, 100])])
        #expect(capped.desired == 3)
        #expect(capped.reason == "at max replicas")
    }

    @Test func aForecastRaisesButNeverLowersAndTheReasonNamesIt() throws {
        let spec = try spec("      max: 5\n      metrics: [{name: queue_depth, target: 10}]\n      calls_per_replica: 20\n")
        #expect(spec.callsPerReplica == 20)
        // A peak of 55 calls/s at 20 per replica: ceil(2.75) = 3.
        let load = LoadForecast(callsPerSecond: 30, peakCallsPerSecond: 55, policyVersion: 7)
        #expect(load.replicas(callsPerReplica: 20) == 3)
        #expect(LoadForecast(callsPerSecond: 0, peakCallsPerSecond: 0, policyVersion: nil).replicas(callsPerReplica: 20) == 0)
        let t0 = ContinuousClock.now

        // Metrics at the target ask for 2; the forecast's 3 wins and the reason says so.
        var autoscaler = HorizontalAutoscaler(spec: spec)
        let raised = autoscaler.evaluate(now: t0, current: 2, readings: [gauge([10, 10])], forecast: 3)
        #expect(raised.desired == 3)
        #expect(raised.recommendation == 3)
        #expect(raised.reason == "forecast 3 above metrics 2")
        #expect(raised.json["forecast"]?.intValue == 3)

        // Metrics asking for more than the forecast: reactive wins, the reason is the HPA's.
        var busy = HorizontalAutoscaler(spec: spec)
        let reactive = busy.evaluate(now: t0, current: 2, readings: [gauge([20, 20])], forecast: 3)
        #expect(reactive.desired == 4)
        #expect(reactive.reason == "desired within range")

        // A forecast above max is bounded by max, and the reason still names the forecast.
        var capped = HorizontalAutoscaler(spec: spec)
        let bounded = capped.evaluate(now: t0, current: 2, readings: [gauge([10, 10])], forecast: 9)
        #expect(bounded.desired == 5)
        #expect(bounded.reason == "forecast 9 above metrics 2, at max replicas")

        // A low forecast never scales in: metrics asking for 2 keep 2.
        var low = HorizontalAutoscaler(spec: spec)
        #expect(low.evaluate(now: t0, current: 2, readings: [gauge([10, 10])], forecast: 1).desired == 2)

        // Fallback: no forecast, so purely reactive, and the decision says why.
        var fallback = HorizontalAutoscaler(spec: spec)
        let alone = fallback.evaluate(now: t0, current: 2, readings: [gauge([10, 10])], forecastUnavailable: "learn service unavailable (refused)")
        #expect(alone.desired == 2)
        #expect(alone.forecast == nil)
        #expect(alone.reason == "within tolerance")
        #expect(alone.json["forecast_unavailable"]?.stringValue == "learn service unavailable (refused)")
        #expect(alone.summary.hasSuffix("; reactive only: learn service unavailable (refused)"))
    }

    @Test func theLearnServicePolicysTotalForecastIsRead() throws {
        let policy = try JSONParser.parse(
            #"{"version":42,"forecasts":{"*":{"calls_per_second":35.2,"peak_calls_per_second_1h":51,"bucket_seconds":300},"read_file":{"calls_per_second":1,"peak_calls_per_second_1h":2}}}"#
        )
        #expect(LearnServiceForecasts.forecast(in: policy) == LoadForecast(callsPerSecond: 35.2, peakCallsPerSecond: 51, policyVersion: 42))
        #expect(LearnServiceForecasts.forecast(in: try JSONParser.parse(#"{"version":1,"forecasts":{}}"#)) == nil)
    }

    @Test func anUnreachableLearnServiceMeansReactiveOnly() async throws {
        let port = TestEnvironment.freePorts(1)
        let source = LearnServiceForecasts(baseURL: "http://127.0.0.1:\(port)", secret: TestEnvironment.secret)
        guard case .failure(let unavailable) = await source.forecast(service: "tools") else {
            Issue.record("a forecast from a closed port")
            return
        }
        #expect(unavailable.reason.hasPrefix("learn service unavailable (http://127.0.0.1:\(port)/v1/policy"))
    }

    @Test(arguments: [
        ("      min: 1\n", "services.a.x-autoscale.max: missing"),
        ("      max: 3\n", "services.a.x-autoscale: names no target"),
        ("      max: 3\n      cpu: lots\n", "services.a.x-autoscale.cpu: 'lots' is neither"),
        ("      max: 3\n      min: 4\n      in_flight: 2\n", "services.a.x-autoscale.min: must not exceed max (3)"),
        ("      max: 3\n      in_flight: 2\n      scale_up: {policies: [{type: pod, value: 1, period: 15s}]}\n", "services.a.x-autoscale.scale_up.policies[0].type"),
        ("      max: 3\n      in_flight: 2\n      speed: 2\n", "services.a.x-autoscale.speed: unknown key"),
        ("      max: 3\n      in_flight: 2\n      calls_per_replica: 0\n", "services.a.x-autoscale.calls_per_replica: expected a number greater than 0"),
    ])
    func badSettingsNameTheirPath(yaml: String, expected: String) {
        #expect {
            try ComposeLoader.parse("services:\n  a:\n    image: x\n    x-autoscale:\n" + yaml, variables: [:])
        } throws: { error in
            "\(error)".contains(expected)
        }
    }
}
