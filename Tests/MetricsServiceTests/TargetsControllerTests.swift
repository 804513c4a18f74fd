import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import MetricsService

struct TargetsControllerTests {
    let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)"]

    @Test func servesStaticTargetsAsJSONAndPrometheusServiceDiscovery() async throws {
        let environment = try TestEnvironment.make(
            service: "metrics", keys: ConfigKey.metricsService,
            ["SWITCHBOARD_SCRAPE_TARGETS": "tools=127.0.0.1:8081,tools=127.0.0.1:8082,gateway=127.0.0.1:8080", "SWITCHBOARD_ALERT_RULES": ""]
        )
        let app = Application(router: buildRouter(environment, parts: try MonitoringParts(environment)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/targets", method: .get, headers: auth) { response in
                let targets = try JSONParser.parse(response.body)["targets"]?.arrayValue ?? []
                #expect(targets.count == 3)
                #expect(targets[1]["replica"] == 2)
                #expect(targets[1]["service"] == "tools")
            }
            try await client.execute(uri: "/targets.json", method: .get) { response in
                let groups = try JSONParser.parse(response.body).arrayValue ?? []
                #expect(groups.first?["targets"] == ["127.0.0.1:8081"])
                #expect(groups.first?["labels"] == ["service": "tools", "replica": "1"])
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func rejectsMalformedTargets() {
        #expect {
            try StaticTargets(entries: ["tools-127.0.0.1:8081"])
        } throws: { error in
            "\(error)".contains("expected service=host:port")
        }
    }

    @Test func readinessFailsWhenTheSupervisorIsUnreachable() async throws {
        let port = TestEnvironment.freePorts(1)
        let environment = try TestEnvironment.make(
            service: "metrics", keys: ConfigKey.metricsService, ["SWITCHBOARD_SUPERVISOR_URL": "http://127.0.0.1:\(port)", "SWITCHBOARD_ALERT_RULES": ""]
        )
        let app = Application(router: buildRouter(environment, parts: try MonitoringParts(environment)), services: [environment.http])
        try await app.test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("supervisor http://127.0.0.1:\(port)"))
            }
        }
    }
}
