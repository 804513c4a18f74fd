import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

struct ModelsControllerTests {
    func weight(_ client: some TestClientProtocol, _ replica: String) async throws -> Double {
        try await client.execute(uri: "/v1/policy", method: .get, headers: LearnFixture.auth) { response in
            try JSONParser.parse(response.body)["routing"]?[replica]?["weight"]?.doubleValue ?? -1
        }
    }

    @Test func checkpointsAreVersionedRestoredOnStartAndRolledBack() async throws {
        let directory = TestEnvironment.temporaryDirectory("learn-models")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await LearnFixture(stateDirectory: directory)
        let weightAtVersion1 = try await first.application.test(.router) { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(PolicyControllerTests.traffic(from: 1_732_180_000, count: 200))) { _ in }
            try await client.execute(uri: "/v1/models/checkpoint", method: .post, headers: LearnFixture.auth) { response in
                #expect(response.status == .created)
                let version = try JSONParser.parse(response.body)
                #expect(version["version"] == 1)
                #expect(version["parent"] == .null)
            }
            first.learner.publishPolicy()
            let weightAtVersion1 = try await weight(client, "http://slow")
            // Later the slow replica becomes the fast one.
            let reversed = (0..<200).flatMap { step -> [String] in
                let time = 1_732_181_000 + Double(step) * 0.05
                return [LearnFixture.event("search", at: time, backend: "http://fast", latency: 80), LearnFixture.event("search", at: time, backend: "http://slow", latency: 5)]
            }
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(reversed)) { _ in }
            try await client.execute(uri: "/v1/models/checkpoint", method: .post, headers: LearnFixture.auth) { response in
                let answer = try JSONParser.parse(response.body)
                #expect(answer["parent"] == 1)
            }
            first.learner.publishPolicy()
            let reversedWeight = try await weight(client, "http://slow")
            #expect(reversedWeight > weightAtVersion1 + 0.2)
            try await client.execute(uri: "/v1/models/1/rollback", method: .post, headers: LearnFixture.auth) { response in
                #expect(response.status == .ok)
                let version = try JSONParser.parse(response.body)["version"]
                #expect(version?["version"] == 3)
                #expect(version?["parent"] == 1)
            }
            let rolledBackWeight = try await weight(client, "http://slow")
            #expect(rolledBackWeight == weightAtVersion1)
            try await client.execute(uri: "/v1/models/99/rollback", method: .post, headers: LearnFixture.auth) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("model version 99 is not kept (kept: 1, 2, 3)"))
            }
            return weightAtVersion1
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files == ["model-1.ckpt", "model-2.ckpt", "model-3.ckpt"])

        // A new process restores the newest version: the rolled-back models.
        let second = try await LearnFixture(stateDirectory: directory)
        try await second.application.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: LearnFixture.auth) { response in
                let models = try JSONParser.parse(response.body)
                #expect(models["current"] == 3)
                #expect(models["versions"]?.arrayValue?.count == 3)
            }
            let restoredWeight = try await weight(client, "http://slow")
            #expect(restoredWeight == weightAtVersion1)
        }
    }

    @Test func aCorruptCheckpointIsReportedAndTheServiceStartsEmpty() async throws {
        let directory = TestEnvironment.temporaryDirectory("learn-corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        var payload = ModelStore.encode(.init(number: 1, parent: nil, createdAt: 0, bytes: 5, reason: "test"), [1, 2, 3, 4, 5])
        payload[payload.count - 1] = 9
        try Data(payload).write(to: directory.appendingPathComponent("model-1.ckpt"))
        let fixture = try await LearnFixture(stateDirectory: directory)
        #expect(fixture.learner.summary.events == 0)
        #expect(fixture.learner.store.versions.map(\.number) == [1])
    }
}
