import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import MetricsService

/// The monitoring hub against live services: scraping, the dashboard, federation and alert webhooks.
struct MonitoringTests {
    /// A live service exposing the standard /metrics, and a live webhook receiver recording what it gets.
    @Test func scrapesLiveTargetsRendersTheDashboardAndFederates() async throws {
        let port = TestEnvironment.freePorts(2)
        let target = try TestEnvironment.make(service: "tools", keys: ConfigKey.toolService, ["SWITCHBOARD_PORT": String(port)])
        let targetApp = target.makeApplication(router: target.makeRouter(checks: []))
        try await LiveService.with(targetApp, port: port) {
            let dashboard = TestEnvironment.packageRoot.appendingPathComponent("compose/grafana/dashboards/switchboard.json").path
            let environment = try TestEnvironment.make(service: "metrics", keys: ConfigKey.metricsService, [
                "SWITCHBOARD_SCRAPE_TARGETS": "tools=127.0.0.1:\(port),tools=127.0.0.1:\(port + 1)",
                "SWITCHBOARD_ALERT_RULES": "", "SWITCHBOARD_DASHBOARD": dashboard,
            ])
            let parts = try MonitoringParts(environment)
            let app = Application(router: buildRouter(environment, parts: parts), services: [environment.http])
            try await app.test(.router) { client in
                // Traffic to the target, then two scrapes so that rates have two points.
                for _ in 0..<3 { _ = try await ServiceCall.get("http://127.0.0.1:\(port)/health", http: environment.http) }
                await parts.scraper.scrapeAll()
                try await Task.sleep(for: .milliseconds(1100))
                _ = try await ServiceCall.get("http://127.0.0.1:\(port)/health", http: environment.http)
                await parts.scraper.scrapeAll()
                let status = parts.scraper.targets
                #expect(status.map(\.up) == [true, false])
                #expect(status[1].error != nil)
                let evaluator = PromQLEvaluator(store: parts.store)
                guard case .vector(let up) = try evaluator.evaluate("up", at: Date().timeIntervalSince1970) else { throw PromQLError("no vector") }
                #expect(up.count == 2)
                guard case .vector(let requests) = try evaluator.evaluate(
                    #"switchboard_http_requests_total{service="tools",route="/health"}"#, at: Date().timeIntervalSince1970
                ) else { throw PromQLError("no vector") }
                #expect(requests.first?["replica"] == "1")
                #expect((requests.first?.value ?? 0) >= 4)
                try await client.execute(uri: "/", method: .get) { response in
                    let html = String(buffer: response.body)
                    #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                    #expect(html.contains("Requests per second by service"))
                    #expect(html.contains("<polyline"))
                    #expect(html.contains("127.0.0.1:\(port + 1)"))
                }
                try await client.execute(uri: "/federate", method: .get) { response in
                    let text = String(buffer: response.body)
                    #expect(text.contains("# TYPE switchboard_http_requests_total counter"))
                    #expect(text.contains(#"up{instance="127.0.0.1:\#(port + 1)",replica="2",service="tools"} 0"#))
                }
                try await client.execute(uri: "/v1/query?query=sum(up)", method: .get, headers: [.authorization: "Bearer \(TestEnvironment.secret)"]) { response in
                    let answer = try JSONParser.parse(response.body)
                    #expect(answer["data"]?["result"]?.arrayValue?.first?["value"]?.arrayValue?.last == "1")
                }
                try await client.execute(uri: "/v1/query?query=rate(", method: .get, headers: [.authorization: "Bearer \(TestEnvironment.secret)"]) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test func alertsReachWebhooksWithRetries() async throws {
        let port = TestEnvironment.freePorts(1)
        let received = Mutex<[(path: String, body: JSONValue)]>([])
        let failuresLeft = Mutex(1)
        let receiverRouter = Router()
        receiverRouter.post("{kind}") { request, context -> Response in
            // The first delivery fails: the notifier must retry.
            if failuresLeft.withLock({ left in defer { left -= 1 }; return left > 0 }) { return Response(status: .internalServerError) }
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append((context.parameters.get("kind") ?? "", try! JSONParser.parse(body))) }
            return Response(status: .ok)
        }
        try await LiveService.with(Application(router: receiverRouter, configuration: .init(address: .hostname("127.0.0.1", port: port))), port: port) {
            let environment = try TestEnvironment.make(service: "metrics", keys: ConfigKey.metricsService, ["SWITCHBOARD_ALERT_RULES": ""])
            let store = SeriesStore()
            store.append([(SeriesKey(name: "up", labels: [("service", "tools"), ("replica", "2")]), 0)], at: 1000)
            let rules = try AlertRule.parse("""
                groups:
                  - name: test
                    rules:
                      - alert: ReplicaDown
                        expr: up == 0
                        for: 30s
                        labels: {severity: critical}
                        annotations: {summary: "{{ $labels.service }}.{{ $labels.replica }} is down"}
                """)
            let notifier = try WebhookNotifier(
                entries: ["slack=http://127.0.0.1:\(port)/slack", "alertmanager=http://127.0.0.1:\(port)/am"], http: environment.http,
                metrics: environment.metrics, logger: Logger(label: "t"), backoff: .milliseconds(50)
            )
            let clock = TestClock()
            let evaluator = AlertEvaluator(rules: rules, store: store, notifier: notifier, metrics: environment.metrics, logger: Logger(label: "t"), interval: .seconds(15)) { clock.now }
            clock.now = 1000
            await evaluator.evaluate()
            #expect(evaluator.alerts.first?.state == .pending)
            #expect(received.withLock { $0.isEmpty })
            clock.now = 1031
            store.append([(SeriesKey(name: "up", labels: [("service", "tools"), ("replica", "2")]), 0)], at: 1031)
            await evaluator.evaluate()
            #expect(evaluator.alerts.first?.state == .firing)
            let deliveries = received.withLock { $0 }
            #expect(deliveries.count == 2, "\(deliveries.map(\.path))")
            let slack = deliveries.first { $0.path == "slack" }?.body
            #expect(slack?["text"] == "[FIRING] ReplicaDown: tools.2 is down (replica=2 service=tools severity=critical)")
            let alertmanager = deliveries.first { $0.path == "am" }?.body
            #expect(alertmanager?["version"] == "4")
            #expect(alertmanager?["status"] == "firing")
            #expect(alertmanager?["alerts"]?.arrayValue?.first?["labels"]?["alertname"] == "ReplicaDown")
            // Recovery sends a resolved notification.
            clock.now = 1050
            store.append([(SeriesKey(name: "up", labels: [("service", "tools"), ("replica", "2")]), 1)], at: 1050)
            await evaluator.evaluate()
            #expect(received.withLock { $0.count } == 4)
            #expect(received.withLock { $0.last?.body["status"] ?? $0.last?.body["text"] } != nil)
            try await environment.http.client.shutdown()
        }
    }

    @Test func rejectsBadRuleFilesAndWebhookEntries() throws {
        #expect {
            try AlertRule.parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n")
        } throws: { error in
            "\(error)".contains("group g, rule 0 (A)")
        }
        let environment = try TestEnvironment.make(service: "metrics", keys: ConfigKey.metricsService)
        #expect {
            try WebhookNotifier(entries: ["teams=http://x"], http: environment.http, metrics: environment.metrics, logger: Logger(label: "t"))
        } throws: { error in
            "\(error)".contains("expected slack=<url> or alertmanager=<url>")
        }
    }
}

/// A plain GET through the service's HTTP client.
enum ServiceCall {
    static func get(_ url: String, http: HTTPClientService) async throws -> Int {
        let response = try await http.client.execute(.init(url: url), timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
