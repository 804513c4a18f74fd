import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// The control API's routes over a running stack of real replicas.
@Suite(.serialized)
struct ControlAPITests {
    let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)"]

    static let yaml = """
        services:
          web:
            x-switchboard: {command: [sh, -c, "exec sleep 1000"], port: $BASE}
            healthcheck: {test: ["CMD", "true"], interval: 1s, start_interval: 50ms, start_period: 5s}
            stop_grace_period: 1s
            deploy:
              replicas: 2
              resources: {limits: {cpus: '0.5', memory: 64M}}
              update_config: {order: start-first, monitor: 200ms}
        """

    private func withAPI(_ body: @escaping @Sendable (any TestClientProtocol, StackHarness) async throws -> Void) async throws {
        let environment = try TestEnvironment.make(service: "supervisor", keys: ConfigKey.common(port: 7070))
        try await StackHarness.with(Self.yaml, configure: { $0.metrics = SupervisorMetrics(registry: environment.metrics.registry) }) { harness in
            let router = environment.makeRouter(checks: [])
            ControlController(stack: harness.stack, requestShutdown: {}).addRoutes(to: environment.internalAPI(on: router))
            try await Application(router: router).test(.router) { client in
                try await body(client, harness)
            }
        }
    }

    @Test func theAPIWantsTheServiceSecretAndNamesUnknownServices() async throws {
        try await withAPI { client, _ in
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/services/nope/scale", method: .post, headers: auth, body: ByteBuffer(string: #"{"replicas":1}"#)) { response in
                #expect(response.status == .notFound)
                let answer = try JSONParser.parse(response.body)
                #expect(answer["error"]?["message"] == "unknown service 'nope' (services: web)")
            }
            try await client.execute(uri: "/v1/services/web/scale", method: .post, headers: auth, body: ByteBuffer(string: #"{"replicas":"many"}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/services/web/rollback", method: .post, headers: auth) { response in
                #expect(response.status == .badRequest)
                let answer = try JSONParser.parse(response.body)
                #expect(answer["error"]?["message"] == "service web does not have a previous spec to roll back to")
            }
            try await client.execute(uri: "/v1/services/web/endpoints?since=x", method: .get, headers: auth) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func endpointsLongPollUntilTheListChanges() async throws {
        try await withAPI { client, harness in
            let auth = self.auth
            let first = try await client.execute(uri: "/v1/services/web/endpoints", method: .get, headers: auth)
            let list = try #require(ReplicaEndpoints(json: try JSONParser.parse(first.body)))
            #expect(list.endpoints.map(\.slot) == [1, 2])
            #expect(list.endpoints.first?.url == "http://127.0.0.1:\(harness.basePort)")
            // A watcher waits for a change past this version; scaling to 3 brings it.
            async let changed = client.execute(
                uri: SupervisorAPI.endpointsQuery("web", since: list.version, watcher: "w1", wait: .seconds(20)), method: .get, headers: auth
            )
            try await Task.sleep(for: .milliseconds(100))
            #expect(harness.stack.board.watchers("web") == ["w1": list.version])
            try await client.execute(uri: "/v1/services/web/scale", method: .post, headers: auth, body: ByteBuffer(string: #"{"replicas":3}"#)) { response in
                #expect(response.status == .ok)
                let answer = try JSONParser.parse(response.body)
                #expect(answer["previous"] == 2)
            }
            let answer = try #require(ReplicaEndpoints(json: try JSONParser.parse(try await changed.body)))
            #expect(answer.version > list.version)
            try await harness.waitUntil("the third replica in the list") { stack in
                stack.board.current("web").endpoints.count == 3
            }
        }
    }

    @Test func statusShowsLimitsUsageAndUpdateState() async throws {
        try await withAPI { client, harness in
            let auth = self.auth
            try await harness.waitUntil("a resource sample") { stack in
                await stack.replicas.allSatisfy { $0.usage?.cpuCores != nil }
            }
            try await client.execute(uri: "/v1/services/web/update", method: .post, headers: auth, body: ByteBuffer(string: #"{"env":{"COLOUR":"red"}}"#)) { response in
                #expect(response.status == .accepted)
                let answer = try JSONParser.parse(response.body)
                #expect(answer["changed"] == true)
                #expect(answer["spec_version"] == 2)
                #expect(answer["update"]?["state"] == "updating")
            }
            try await harness.waitUntil("the update to complete") { stack in
                await stack.runtime("web")?.update?.state == .completed
            }
            let status = try JSONParser.parse(try await client.execute(uri: "/v1/status", method: .get, headers: auth).body)
            let service = try #require(status["services"]?.arrayValue?.first)
            #expect(service["update"]?["state"] == "completed")
            #expect(service["update"]?["message"] == "update completed")
            #expect(service["previous_spec_version"] == 1)
            #expect(service["limits"] == [["limit": "cpus", "value": "0.5"], ["limit": "memory", "value": "64MiB"], ["limit": "swap", "value": "64MiB"]])
            let replica = try #require(status["replicas"]?.arrayValue?.first)
            #expect(replica["spec_version"] == 2)
            // No cgroups in this test: every limit says it is not enforced, and use comes from /proc.
            #expect(replica["limits"]?.arrayValue?.allSatisfy { $0["enforced"] == false } == true)
            try await harness.waitUntil("a sample of the new replicas") { stack in
                await stack.replicas.allSatisfy { $0.usage?.source == "/proc" && $0.usage?.memoryBytes ?? 0 > 0 }
            }
            let table = PsCommand.render(try JSONParser.parse(try await client.execute(uri: "/v1/status", method: .get, headers: auth).body))
            #expect(table.contains("completed: update completed"))
            #expect(table.contains("/0.5*"))
            #expect(table.contains("/64MiB*"))
            #expect(table.contains("limits not enforced (the kernel does not apply them to these replicas):"))
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"switchboard_supervisor_service_replicas_desired{service="web"} 2.0"#))
            #expect(metrics.contains(#"switchboard_supervisor_service_update_state{service="web",state="completed"} 1.0"#))
            #expect(metrics.contains(#"switchboard_supervisor_replica_memory_limit_bytes{service="web",slot="1""#))
        }
    }
}
