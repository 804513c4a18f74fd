import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// The supervisor's resource samples reach a live learn service running in the stack, and a replica
/// whose queue depth jumps is reported there as a resource anomaly.
@Suite(.serialized)
struct ResourceReportingTests {
    /// In-flight requests are the replica's own gauge less the scrape; queue depth sums every queue gauge.
    @Test func gaugesAreReadFromTheExposition() throws {
        let exposition = try PrometheusText(
            "switchboard_http_requests_in_flight 3\nswitchboard_learn_queue_depth 5\nqueue_depth{q=\"a\"} 2\nqueue_depth_total 9\n"
        )
        let (inFlight, queueDepth) = ResourceReporter.gauges(exposition)
        #expect(inFlight == 2)
        #expect(queueDepth == 7)
        let none = ResourceReporter.gauges(try PrometheusText("other 1\n"))
        #expect(none.inFlight == nil && none.queueDepth == nil)
    }

    @Test func aQueueDepthJumpBecomesAReplicaAnomalyInTheLearnService() async throws {
        let learnPort = TestEnvironment.freePorts(1)
        let yaml = """
            services:
              queue:
                x-switchboard:
                  command: [sh, -c, 'd="$DIR/load/$$SWITCHBOARD_REPLICA"; mkdir -p "$$d"; [ -e "$$d/metrics" ] || echo "queue_depth 0" > "$$d/metrics"; exec python3 -m http.server "$$SWITCHBOARD_PORT" --bind 127.0.0.1 --directory "$$d"']
                  port: $BASE
                stop_grace_period: 1s
              learn:
                x-switchboard:
                  command: [LearnService]
                  port: \(learnPort)
                environment:
                  SWITCHBOARD_HOST: 127.0.0.1
                  SWITCHBOARD_LEARN_PROBATION: 16
                stop_grace_period: 2s
            """
        let learn = ServiceClient(baseURL: "http://127.0.0.1:\(learnPort)", httpClient: .shared, secret: TestEnvironment.secret)
        try await StackHarness.with(yaml, configure: { settings in
            settings.sampleInterval = .milliseconds(100)
            settings.resources = ResourceReporter(baseURL: learn.baseURL, secret: TestEnvironment.secret, logger: Logger(label: "test"))
        }) { harness in
            try await LiveService.waitForListener(port: learnPort, timeout: .seconds(30))
            let metricsFile = harness.directory.appendingPathComponent("load/1/metrics")
            // Calm: the queue replica reports queue depth 0 while the detector learns (probation 16 samples).
            try await eventually("calm samples learned", timeout: .seconds(60)) {
                let text = String(decoding: try await learn.send(.GET, "/metrics").bytes, as: UTF8.self)
                let row = text.split(separator: "\n").first { $0.hasPrefix("switchboard_learn_resource_samples_total ") }
                return (row.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) >= 120
            }
            func anomalies() async throws -> [JSONValue] {
                try await learn.json(.GET, "/v1/anomalies")["anomalies"]?.arrayValue ?? []
            }
            #expect(try await anomalies().filter { $0["measure"] == "queue_depth" }.isEmpty)

            try "# TYPE queue_depth gauge\nqueue_depth 400\n".write(to: metricsFile, atomically: true, encoding: .utf8)
            var found: [JSONValue] = []
            try await eventually("a queue-depth anomaly of queue.1", timeout: .seconds(30)) {
                found = try await anomalies().filter { $0["measure"] == "queue_depth" }
                return !found.isEmpty
            }
            #expect(found.allSatisfy { $0["scope"] == "replica" && $0["subject"] == "queue.1" && $0["value"] == 400 })
            #expect(await harness.stack.settings.resources?.sent ?? 0 >= 120)
        }
    }
}
