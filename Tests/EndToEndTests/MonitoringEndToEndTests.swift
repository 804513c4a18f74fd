import Foundation
import Hummingbird
import NIOCore
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// The Prometheus configuration passes promtool, and the metrics service binary delivers a forced
/// alert to a local webhook receiver.
struct MonitoringEndToEndTests {
    let prometheus = TestEnvironment.packageRoot.appendingPathComponent("compose/prometheus")

    @Test(arguments: [
        ["check", "config", "prometheus.yml", "prometheus.local.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ])
    func promtoolAccepts(arguments: [String]) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "promtool is not installed (make test installs prometheus)")
        let result = try await CommandRunner.run("/usr/bin/promtool", arguments, directory: prometheus.path, timeout: .seconds(60))
        #expect(result.code == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"))
    }

    @Test func aForcedAlertReachesAWebhookReceiver() async throws {
        let ports = TestEnvironment.freePorts(3)
        let (receiverPort, metricsPort, deadPort) = (ports, ports + 1, ports + 2)
        let received = Mutex<[JSONValue]>([])
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append(try! JSONParser.parse(body)) }
            return Response(status: .ok)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: receiverPort)))
        try await LiveService.with(receiver, port: receiverPort) {
            let rules = TestEnvironment.temporaryDirectory().appendingPathComponent("rules.yml")
            try """
                groups:
                  - name: forced
                    rules:
                      - alert: ForcedReplicaDown
                        expr: up == 0
                        labels: {severity: critical}
                        annotations: {summary: "{{ $labels.service }} at {{ $labels.instance }} is down"}
                """.write(to: rules, atomically: true, encoding: .utf8)
            var launch = ProcessLaunch(executable: TestEnvironment.binDirectory.appendingPathComponent("MetricsService").path)
            launch.environment = [
                "SWITCHBOARD_PORT": String(metricsPort), "SWITCHBOARD_SCRAPE_TARGETS": "ghost=127.0.0.1:\(deadPort)",
                "SWITCHBOARD_SCRAPE_INTERVAL": "200ms", "SWITCHBOARD_ALERT_INTERVAL": "200ms", "SWITCHBOARD_ALERT_RULES": rules.path,
                "SWITCHBOARD_ALERT_WEBHOOKS": "alertmanager=http://127.0.0.1:\(receiverPort)/hook", "SWITCHBOARD_DASHBOARD": "",
            ]
            let service = try await ChildProcess.spawn(launch)
            for _ in 0..<100 where received.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(100)) }
            service.signal(SIGTERM)
            #expect(await service.wait() == .exited(0))
            let payload = try #require(received.withLock { $0.first })
            #expect(payload["status"] == "firing")
            let alert = payload["alerts"]?.arrayValue?.first
            #expect(alert?["labels"]?["alertname"] == "ForcedReplicaDown")
            #expect(alert?["labels"]?["service"] == "ghost")
            #expect(alert?["annotations"]?["summary"] == .string("ghost at 127.0.0.1:\(deadPort) is down"))
        }
    }
}
