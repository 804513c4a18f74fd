import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

/// Checkpoints in a real PostgreSQL (started by the test): written with every version, restored by a
/// service whose disk is empty, rolled back, and a PostgreSQL that is away never stops disk checkpoints.
@Suite(.serialized) struct PostgresCheckpointTests {
    /// `version|parent|bytes` per row, read with `psql` (independently of the service's libpq client).
    static func rows(_ server: PostgresServer) async throws -> [String] {
        let psql = (PostgresServer.binDirectory.map { "\($0)/psql" }).flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? "/usr/bin/psql"
        let result = try await CommandRunner.run(
            psql, [server.url, "-Atc", "SELECT version, coalesce(parent::text, '-'), length(bytes) > 0 FROM switchboard_learn_checkpoints ORDER BY version"]
        )
        try #require(result.code == 0, "psql: \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    static func checkpoint(_ client: some TestClientProtocol) async throws -> JSONValue {
        try await client.execute(uri: "/v1/models/checkpoint", method: .post, headers: LearnFixture.auth) { response in
            #expect(response.status == .created)
            return try JSONParser.parse(response.body)
        }
    }

    static func dependency(_ client: some TestClientProtocol, _ name: String) async throws -> JSONValue? {
        try await client.execute(uri: "/ready", method: .get) { response in
            try JSONParser.parse(response.body)["dependencies"]?.arrayValue?.first { $0["name"]?.stringValue == name }
        }
    }

    @Test func versionsAreWrittenRestoredOnAFreshServiceAndRolledBack() async throws {
        try await PostgresServer.with { server in
            let first = TestEnvironment.temporaryDirectory("learn-pg-a"), second = TestEnvironment.temporaryDirectory("learn-pg-b")
            defer {
                try? FileManager.default.removeItem(at: first)
                try? FileManager.default.removeItem(at: second)
            }
            let writer = try await LearnFixture(stateDirectory: first, postgresURL: server.url)
            let learned = try await writer.application.test(.router) { client in
                try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_180_000, count: 100))) { _ in }
                _ = try await Self.checkpoint(client)
                try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_190_000, count: 50))) { _ in }
                #expect(try await Self.checkpoint(client)["parent"] == 1)
                #expect(try await Self.dependency(client, "postgres")?["state"] == "up")
                return writer.learner.summary.events
            }
            #expect(try await Self.rows(server) == ["1|-|t", "2|1|t"])

            // A service with an empty state directory restores the newest version from PostgreSQL.
            let reader = try await LearnFixture(stateDirectory: second, postgresURL: server.url)
            #expect(reader.learner.store.versions.map(\.number) == [1, 2])
            #expect(reader.learner.store.current == 2)
            #expect(reader.learner.summary.events == learned)
            #expect(FileManager.default.fileExists(atPath: second.appendingPathComponent("model-2.ckpt").path))
            try await reader.application.test(.router) { client in
                try await client.execute(uri: "/v1/models/1/rollback", method: .post, headers: LearnFixture.auth) { response in
                    #expect(response.status == .ok)
                    let answer = try JSONParser.parse(response.body)
                    #expect(answer["version"]?["parent"] == 1)
                }
            }
            #expect(reader.learner.summary.events == 400)
            #expect(try await Self.rows(server) == ["1|-|t", "2|1|t", "3|1|t"])
        }
    }

    /// PostgreSQL stopped: the checkpoint still goes to disk, and the failure shows in the metric, in
    /// `/ready` and in the log; once PostgreSQL is back the next version is written there again.
    @Test func postgresDownLeavesDiskCheckpointsWorkingAndIsReported() async throws {
        try await PostgresServer.with { server in
            let directory = TestEnvironment.temporaryDirectory("learn-pg-down")
            defer { try? FileManager.default.removeItem(at: directory) }
            let fixture = try await LearnFixture(stateDirectory: directory, postgresURL: server.url)
            try await fixture.application.test(.router) { client in
                try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_180_000, count: 20))) { _ in }
                _ = try await Self.checkpoint(client)
                await server.stop()
                try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_190_000, count: 20))) { _ in }
                #expect(try await Self.checkpoint(client)["version"] == 2)
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model-2.ckpt").path))
                #expect(sample(fixture.environment.metrics.registry, "switchboard_learn_checkpoint_postgres_failures_total") == 1)
                let down = try await Self.dependency(client, "postgres")
                #expect(down?["state"] == "down")
                #expect(down?["required"] == false)
                #expect(down?["detail"]?.stringValue?.contains("port=\(server.port)") == true)
                try await client.execute(uri: "/ready", method: .get) { response in #expect(response.status == .ok) }

                try await server.start()
                try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_200_000, count: 20))) { _ in }
                #expect(try await Self.checkpoint(client)["version"] == 3)
                #expect(try await Self.dependency(client, "postgres")?["state"] == "up")
            }
            #expect(try await Self.rows(server) == ["1|-|t", "3|2|t"])
        }
    }

    @Test func aMalformedURLIsAConfigurationErrorNamingTheKey() async throws {
        do {
            _ = try await LearnFixture(postgresURL: "postgresql://127.0.0.1/db?bogus=1")
            Issue.record("a malformed PostgreSQL URL was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix("invalid SWITCHBOARD_LEARN_POSTGRES_URL: "))
            #expect(error.description.contains("bogus"))
        }
    }
}
