import AsyncHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// Where the gateway learns tool-service replicas from.
struct ReplicaSourceTests {
    /// The source a configuration chooses; the environment's HTTP client is shut down afterwards.
    private func source(_ variables: [String: String]) async throws -> any ReplicaSource {
        let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, variables)
        let made = Result { try makeReplicaSource(environment) }
        try await environment.http.client.shutdown()
        return try made.get()
    }

    @Test func discoveryFollowsTheConfiguration() async throws {
        #expect(try await source([:]) is StaticReplicas)
        #expect(try await source(["SWITCHBOARD_SUPERVISOR_URL": "http://127.0.0.1:7070"]) is SupervisorReplicas)
        #expect(try await source(["SWITCHBOARD_TOOLS_DISCOVERY": "static", "SWITCHBOARD_SUPERVISOR_URL": "http://127.0.0.1:7070"]) is StaticReplicas)
        let dns = try #require(try await source(["SWITCHBOARD_TOOLS_DISCOVERY": "dns", "SWITCHBOARD_TOOLS_URL": "http://tools:8081"]) as? DNSReplicas)
        #expect(dns.host == "tasks.tools")
        #expect(dns.port == 8081)
        await #expect {
            try await source(["SWITCHBOARD_TOOLS_DISCOVERY": "supervisor"])
        } throws: { error in
            "\(error)" == "SWITCHBOARD_TOOLS_DISCOVERY=supervisor needs SWITCHBOARD_SUPERVISOR_URL (the supervisor's control API)"
        }
    }

    /// The resolver is the system's (getaddrinfo): `localhost` stands in for Swarm's `tasks.<service>`.
    @Test func dnsListsEveryAddressOfTheName() async {
        let replicas = await DNSReplicas(host: "localhost", port: 8081).replicas()
        #expect(replicas.contains("http://127.0.0.1:8081"))
        let missing = DNSReplicas(host: "tasks.no-such-service.invalid", port: 8081)
        #expect(await missing.replicas().isEmpty)
        #expect(missing.description.contains("last lookup failed: cannot resolve tasks.no-such-service.invalid"))
    }

    /// Without an answer from the supervisor the list is empty, and `/ready` says why.
    @Test func anUnreachableSupervisorGivesNoReplicasAndSaysSo() async throws {
        let port = TestEnvironment.freePorts(1)
        let client = ServiceClient(baseURL: "http://127.0.0.1:\(port)", httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(2))
        let source = SupervisorReplicas(client: client, service: "tools")
        #expect(await source.replicas().isEmpty)
        let deadline = ContinuousClock.now + .seconds(20)
        while !source.description.contains("last error:"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(source.description.contains("supervisor http://127.0.0.1:\(port): 0 healthy replica(s) of tools (version 0); last error:"))
    }
}
