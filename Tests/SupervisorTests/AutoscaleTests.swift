import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// The autoscaler on real replicas: each is a Python HTTP server whose `/metrics` reports a queue depth the
/// test writes (synthetic load); time is injected, so every step is the HPA formula's number.
@Suite(.serialized)
struct AutoscaleTests {
    static let yaml = """
        services:
          queue:
            x-switchboard:
              command: [sh, -c, 'd="$DIR/load/$$SWITCHBOARD_REPLICA"; mkdir -p "$$d"; [ -e "$$d/metrics" ] || echo "queue_depth 0" > "$$d/metrics"; exec python3 -m http.server "$$SWITCHBOARD_PORT" --bind 127.0.0.1 --directory "$$d"']
              port: $BASE
            healthcheck:
              test: ["CMD", "python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ['SWITCHBOARD_PORT'], timeout=1)"]
              interval: 1s
              start_interval: 100ms
              start_period: 10s
            stop_grace_period: 1s
            deploy: {replicas: 2}
            x-autoscale:
              min: 1
              max: 5
              metrics: [{name: queue_depth, target: 10}]
              scale_down: {stabilization_window: 30s}
        """

    /// Sets the queue depth every replica slot reports.
    private func load(_ harness: StackHarness, _ depth: Double) throws {
        for slot in 1...5 {
            let directory = harness.directory.appendingPathComponent("load/\(slot)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try "# TYPE queue_depth gauge\nqueue_depth{queue=\"a\"} \(depth / 2)\nqueue_depth{queue=\"b\"} \(depth / 2)\n"
                .write(to: directory.appendingPathComponent("metrics"), atomically: true, encoding: .utf8)
        }
    }

    private func ready(_ harness: StackHarness, _ count: Int) async throws {
        try await harness.waitUntil("\(count) ready replicas", timeout: .seconds(60)) { stack in
            let tasks = await stack.replicas.filter { $0.key.service == "queue" && $0.desired == .running }
            return tasks.count == count && tasks.allSatisfy(\.isReady)
        }
    }

    @Test func syntheticLoadScalesByTheHPAFormula() async throws {
        try await StackHarness.with(Self.yaml) { harness in
            try load(harness, 30)
            let t0 = ContinuousClock.now
            // Two replicas at 30 against 10: ratio 3 → ceil(3 × 2) = 6; the up policies allow max(2 + 4, 2 × 2) = 6; max is 5.
            let up = try #require(await harness.stack.autoscale("queue", now: t0))
            #expect(up.metrics.first?.current == 30)
            #expect(up.metrics.first?.proposal == 6)
            #expect(up.desired == 5)
            #expect(up.reason == "at max replicas")
            try await ready(harness, 5)

            // Load falls to 6 per replica: ceil(0.6 × 5) = 3, but the 30 s scale-down window still holds 6 → stay at 5.
            try load(harness, 6)
            let held = try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(15)))
            #expect(held.recommendation == 3)
            #expect(held.desired == 5)
            #expect(held.reason == "scale-down stabilized")

            // Past the window only the 3 is left.
            let down = try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(46)))
            #expect(down.desired == 3)
            try await ready(harness, 3)
            #expect(await harness.stack.occupiedSlots("queue") == [1, 2, 3])

            // 9.5 per replica is within the 10 % tolerance of 10: nothing moves.
            try load(harness, 9.5)
            #expect(try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(61))).desired == 3)
            #expect(await harness.stack.autoscaleDecisions("queue").map(\.desired) == [5, 5, 3, 3])
        }
    }

    /// The learn service's binary runs in the stack next to the autoscaled service; the autoscaler polls its
    /// policy. Metrics alone keep 2 replicas; telemetry of 40 calls/s makes the forecast ask for 4 at 10 calls/s
    /// per replica, and the supervisor scales up for it. When the learn service goes, it is reactive again.
    @Test func theLearnServicesForecastDrivesAScaleUp() async throws {
        let learnPort = TestEnvironment.freePorts(1)
        let yaml = Self.yaml.replacingOccurrences(of: "scale_down: {stabilization_window: 30s}", with: "scale_down: {stabilization_window: 30s}\n      calls_per_replica: 10")
            + """

              learn:
                x-switchboard:
                  command: [LearnService]
                  port: \(learnPort)
                environment:
                  SWITCHBOARD_HOST: 127.0.0.1
                  SWITCHBOARD_LEARN_FORECAST_BUCKET: 10s
                  SWITCHBOARD_LEARN_PUBLISH_INTERVAL: 50ms
                stop_grace_period: 2s
            """
        let learn = ServiceClient(baseURL: "http://127.0.0.1:\(learnPort)", httpClient: .shared, secret: TestEnvironment.secret)
        try await StackHarness.with(yaml, configure: { settings in
            settings.forecasts = LearnServiceForecasts(baseURL: learn.baseURL, secret: TestEnvironment.secret, pollInterval: .zero, validity: .seconds(1))
        }) { harness in
            try load(harness, 10)
            try await LiveService.waitForListener(port: learnPort, timeout: .seconds(30))
            let t0 = ContinuousClock.now

            // No telemetry yet: no forecast, so the metrics decide (10 per replica against 10: stay at 2).
            let reactive = try #require(await harness.stack.autoscale("queue", now: t0))
            #expect(reactive.desired == 2)
            #expect(reactive.forecast == nil)
            #expect(reactive.forecastUnavailable?.contains("forecast yet") == true)

            // 400 calls in each of five 10 s buckets (and one call opening the sixth): 40 calls/s.
            let start = (Date().timeIntervalSince1970 / 10).rounded(.down) * 10 - 100
            var events: [String] = []
            for bucket in 0..<5 {
                for call in 0..<400 {
                    events.append(#"{"ts":\#(start + Double(bucket * 10) + Double(call) / 50),"tool":"read_file","principal":"p","backend":"b","latency_ms":2,"outcome":"ok","cache_hit":false,"arg_shape":[]}"#)
                }
            }
            events.append(#"{"ts":\#(start + 50.5),"tool":"read_file","principal":"p","backend":"b","latency_ms":2,"outcome":"ok","cache_hit":false,"arg_shape":[]}"#)
            let posted = try await learn.send(.POST, "/v1/events", body: Array(#"{"events":[\#(events.joined(separator: ","))]}"#.utf8))
            #expect(posted.status == 202)
            // Every event learned (the routing model counted them all) and the forecast published.
            try await eventually("the policy forecasts the calls", timeout: .seconds(30)) {
                let policy = try await learn.json(.GET, "/v1/policy")
                return policy["routing"]?["b"]?["observations"]?.intValue == Int64(events.count)
                    && (policy["forecasts"]?["*"]?["peak_calls_per_second_1h"]?.doubleValue ?? 0) > 30
            }

            // Metrics still ask for 2; the forecast's ceil(40 / 10) = 4 wins and the reason says so.
            let predicted = try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(15)))
            #expect(predicted.metrics.first?.proposal == 2)
            #expect(predicted.forecast == 4)
            #expect(predicted.forecastUnavailable == nil)
            #expect(predicted.desired == 4)
            #expect(predicted.reason == "forecast 4 above metrics 2")
            let table = PsCommand.render(await ControlController.status(harness.stack))
            #expect(table.contains("+ forecast at 10 calls/s per replica; last 2 → 4 (forecast 4 above metrics 2)"))
            #expect(!table.contains("reactive only"))
            try await ready(harness, 4)

            // The next poll finds the policy unchanged: the learn service answers 304 to its If-None-Match.
            let steady = try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(20)))
            #expect(steady.forecast == 4)
            try await eventually("the learn service counts a 304 for the policy") {
                let metrics = String(buffer: try await learn.send(.GET, "/metrics").body)
                return metrics.split(separator: "\n").contains { $0.hasPrefix("switchboard_http_requests_total{route=\"/v1/policy\"") && $0.contains(#"status="304""#) }
            }

            // The learn service stops: once its last policy is older than the validity, scaling is reactive only.
            try await harness.stack.scale("learn", to: 0)
            try await Task.sleep(for: .milliseconds(1100))
            let fallback = try #require(await harness.stack.autoscale("queue", now: t0 + .seconds(30)))
            #expect(fallback.forecast == nil)
            #expect(fallback.forecastUnavailable?.hasPrefix("learn service unavailable") == true)
            #expect(await harness.stack.autoscaleDecisions("queue").map(\.desired) == [2, 4, 4, 4])
            #expect(PsCommand.render(await ControlController.status(harness.stack)).contains("; reactive only: learn service unavailable"))
        }
    }
}
