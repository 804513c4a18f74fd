import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

struct ServiceRuntimeTests {
    func makeApp(ready: Bool = true) throws -> some ApplicationProtocol {
        let environment = try TestEnvironment.make(service: "probe", keys: ConfigKey.common(port: 9999))
        let router = environment.makeRouter(checks: [
            ReadinessProbe { DependencyStatus(name: "store", state: ready ? .up : .down, detail: ready ? "fine" : "connection refused") },
            ReadinessProbe { DependencyStatus(name: "cache", state: .disabled, required: false, detail: "in-process") },
        ])
        environment.internalAPI(on: router).get("echo-principal") { _, context in
            context.principal ?? "none"
        }
        router.get("boom") { _, _ -> String in throw ServiceError(.internal, "boom") }
        return Application(router: router)
    }

    @Test func healthReportsServiceAndVersion() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(response.body)
                #expect(body["status"] == "ok")
                #expect(body["service"] == "probe")
                #expect(body["version"] == .string(ServiceIdentity.version))
            }
        }
    }

    @Test func readinessListsDependenciesAndFailsWhenARequiredOneIsDown() async throws {
        try await makeApp(ready: true).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(response.body)
                #expect(body["ready"] == true)
                #expect(body["dependencies"]?.arrayValue?.count == 2)
                #expect(body["dependencies"]?.arrayValue?.last?["state"] == "disabled")
            }
        }
        try await makeApp(ready: false).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(response.body)
                #expect(body["ready"] == false)
                #expect(body["dependencies"]?.arrayValue?.first?["detail"] == "connection refused")
            }
        }
    }

    @Test func requestIDIsAcceptedGeneratedAndEchoed() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/health", method: .get, headers: [.requestID: "abc-123"]) { response in
                #expect(response.headers[.requestID] == "abc-123")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.headers[.requestID]?.count == 24)
            }
            // An id with spaces or control characters is replaced, not echoed.
            try await client.execute(uri: "/health", method: .get, headers: [.requestID: "bad id"]) { response in
                #expect(response.headers[.requestID] != "bad id")
                #expect(response.headers[.requestID]?.count == 24)
            }
        }
    }

    @Test func internalAPIRequiresTheServiceSecret() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/echo-principal", method: .get) { response in
                #expect(response.status == .unauthorized)
                let body = try JSONParser.parse(response.body)
                #expect(body["error"]?["code"] == "unauthorized")
            }
            try await client.execute(uri: "/v1/echo-principal", method: .get, headers: [.authorization: "Bearer wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/echo-principal", method: .get,
                headers: [.authorization: "Bearer \(TestEnvironment.secret)", .switchboardPrincipal: "alice"]
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "alice")
            }
        }
    }

    @Test func metricsCountRequestsPerRouteAndStatus() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { _ in }
            try await client.execute(uri: "/boom", method: .get) { response in
                #expect(response.status == .internalServerError)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(text.contains(#"switchboard_http_requests_total{route="/health",method="GET",status="200"} 1"#))
                #expect(text.contains(#"switchboard_http_request_errors_total{route="/boom",method="GET"} 1"#))
                #expect(text.contains(#"switchboard_http_request_errors_total{route="/health",method="GET"} 0"#))
                #expect(text.contains("switchboard_http_request_duration_seconds_bucket"))
                #expect(text.contains(#"switchboard_build_info{service="probe""#))
                #expect(text.contains("process_resident_memory_bytes"))
                #expect(text.contains("process_open_fds"))
                #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
            }
        }
    }
}
