import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Synchronization
import Testing

@testable import LearnService

/// Policy experiments: a worse canary is reverted within a bounded number of calls, a good one is
/// promoted, shadow never changes the published policy, and requests are checked.
struct ExperimentsControllerTests {
    static let start = 1_732_180_000.0

    static func json(_ client: some TestClientProtocol, _ uri: String, _ method: HTTPRequest.Method = .get, _ body: String? = nil) async throws -> (HTTPResponse.Status, JSONValue) {
        try await client.execute(uri: uri, method: method, headers: LearnFixture.auth, body: body.map { ByteBuffer(string: $0) }) { response in
            (response.status, (try? JSONParser.parse(response.body)) ?? .null)
        }
    }

    static func post(_ client: some TestClientProtocol, _ fixture: LearnFixture, _ events: [String]) async throws {
        try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(events)) { response in
            #expect(response.status == .accepted)
        }
        fixture.learner.applyPending()
    }

    /// `count` calls of a canary: every `every`-th one by the candidate (latency `candidate`), the
    /// others by the control (latency `control`), each ±10 %.
    static func canaryTraffic(_ id: String, count: Int, every: Int, control: Double, candidate: Double, from time: Double) -> [String] {
        (0..<count).map { step in
            let isCandidate = step % every == every - 1
            let jitter = (step / every) % 2 == 0 ? 0.9 : 1.1
            return LearnFixture.event(
                "search", at: time + Double(step) * 0.01, backend: isCandidate ? "http://slow" : "http://fast",
                latency: (isCandidate ? candidate : control) * jitter, arm: (id, isCandidate)
            )
        }
    }

    @Test func aWorseCanaryIsRevertedAutomaticallyWithinMinEvents() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            try await Self.post(client, fixture, PolicyControllerTests.traffic(from: Self.start, count: 100))
            let (status, started) = try await Self.json(
                client, "/v1/experiments", .post,
                #"{"mode":"canary","share":0.1,"candidate":{"routing":{"http://slow":1,"http://fast":0}},"guardrail":{"min_events":50,"promote_after":400}}"#
            )
            #expect(status == .created)
            #expect(started["id"] == "exp-1")
            #expect(started["status"] == "running")
            let (_, policy) = try await Self.json(client, "/v1/policy")
            #expect(policy["experiment"]?["id"] == "exp-1")
            #expect(policy["experiment"]?["share"] == 0.1)
            #expect(policy["experiment"]?["routing"]?["http://slow"]?["weight"] == 1)
            #expect(policy["experiment"]?["routing"]?["http://fast"]?["weight"] == 0)
            // The control keeps the learned weights.
            #expect((policy["routing"]?["http://slow"]?["weight"]?.doubleValue ?? 1) < 0.5)
            #expect(sample(fixture.environment.metrics.registry, "switchboard_learn_experiment_running") == 1)

            // The candidate serves one call in ten at 16× the latency: reverted at its 50th call.
            try await Self.post(client, fixture, Self.canaryTraffic("exp-1", count: 1000, every: 10, control: 5, candidate: 80, from: Self.start + 100))
            let (_, ended) = try await Self.json(client, "/v1/experiments/exp-1")
            #expect(ended["status"] == "reverted")
            #expect(ended["candidate_arm"]?["events"] == 50)
            #expect(ended["reason"]?.stringValue?.hasPrefix("candidate mean latency") == true)
            let (_, after) = try await Self.json(client, "/v1/policy")
            #expect(after["experiment"] == nil)
            #expect((after["routing"]?["http://slow"]?["weight"]?.doubleValue ?? 1) < 0.5)
            let registry = fixture.environment.metrics.registry
            #expect(sample(registry, #"switchboard_learn_experiments_concluded_total{outcome="reverted"}"#) == 1)
            #expect(sample(registry, #"switchboard_learn_experiment_events_total{arm="candidate"}"#) == 50)
            #expect(sample(registry, "switchboard_learn_experiment_running") == 0)
            let (_, listing) = try await Self.json(client, "/v1/experiments")
            #expect(listing["running"] == .null)
            #expect(listing["experiments"]?.arrayValue?.count == 1)
        }
    }

    /// A candidate as fast as the control is promoted after `promote_after` calls per arm, and its
    /// routing weight is pinned in the published policy, also after a restart, until the pins are cleared.
    @Test func aCanaryThatIsNotWorseIsPromotedAndPinned() async throws {
        let directory = TestEnvironment.temporaryDirectory("learn-pins")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try await LearnFixture(stateDirectory: directory)
        try await fixture.application.test(.router) { client in
            try await Self.post(client, fixture, PolicyControllerTests.traffic(from: Self.start, count: 100))
            let (status, _) = try await Self.json(
                client, "/v1/experiments", .post,
                #"{"mode":"canary","share":0.5,"candidate":{"routing":{"http://slow":0.7}},"guardrail":{"min_events":20,"promote_after":100}}"#
            )
            #expect(status == .created)
            try await Self.post(client, fixture, Self.canaryTraffic("exp-1", count: 400, every: 2, control: 5, candidate: 5, from: Self.start + 100))
            let (_, ended) = try await Self.json(client, "/v1/experiments/exp-1")
            #expect(ended["status"] == "promoted")
            #expect(ended["candidate_arm"]?["events"] == 100)
            try await eventually("the promoted weight in the policy") {
                let (_, policy) = try await Self.json(client, "/v1/policy")
                return policy["routing"]?["http://slow"]?["weight"] == 0.7 && policy["experiment"] == nil
            }
            #expect(sample(fixture.environment.metrics.registry, #"switchboard_learn_experiments_concluded_total{outcome="promoted"}"#) == 1)
            #expect(try await Self.json(client, "/v1/models/checkpoint", .post).0 == .created)
        }
        let restarted = try await LearnFixture(stateDirectory: directory)
        try await restarted.application.test(.router) { client in
            #expect(try await Self.json(client, "/v1/policy").1["routing"]?["http://slow"]?["weight"] == 0.7)
            #expect(try await Self.json(client, "/v1/experiments").1["pins"]?["routing"]?["http://slow"] == 0.7)
            let (status, cleared) = try await Self.json(client, "/v1/experiments/pins", .delete)
            #expect(status == .ok)
            #expect(cleared["cleared"]?["routing"]?["http://slow"] == 0.7)
            let weight = try await Self.json(client, "/v1/policy").1["routing"]?["http://slow"]?["weight"]?.doubleValue
            #expect((weight ?? 1) < 0.5)
        }
        let again = try await LearnFixture(stateDirectory: directory)
        #expect(again.learner.pins.withLock { $0 } == PolicyDocument.Pins())
    }

    /// Shadow judges the candidate on the same calls without publishing it: the routing and cache the
    /// service publishes equal those of a twin that ran no experiment, and a worse candidate is reverted.
    @Test func shadowNeverChangesThePublishedPolicy() async throws {
        let fixture = try await LearnFixture()
        let twin = try await LearnFixture()
        let first = PolicyControllerTests.traffic(from: Self.start, count: 100)
        let second = PolicyControllerTests.traffic(from: Self.start + 1000, count: 200)
        let twinPolicy = try await twin.application.test(.router) { client in
            try await Self.post(client, twin, first)
            try await Self.post(client, twin, second)
            twin.learner.publishPolicy()
            return try await Self.json(client, "/v1/policy").1
        }
        try await fixture.application.test(.router) { client in
            try await Self.post(client, fixture, first)
            fixture.learner.publishPolicy()
            let before = fixture.learner.publisher.current.version
            let (status, _) = try await Self.json(
                client, "/v1/experiments", .post,
                #"{"mode":"shadow","candidate":{"routing":{"http://slow":1,"http://fast":0}},"guardrail":{"min_events":50,"promote_after":1000}}"#
            )
            #expect(status == .created)
            #expect(fixture.learner.publisher.current.version == before)
            try await Self.post(client, fixture, second)
            fixture.learner.publishPolicy()
            let (_, ended) = try await Self.json(client, "/v1/experiments/exp-1")
            #expect(ended["status"] == "reverted")
            #expect(ended["mode"] == "shadow")
            let (_, policy) = try await Self.json(client, "/v1/policy")
            #expect(policy["experiment"] == nil)
            #expect(policy["routing"] == twinPolicy["routing"])
            #expect(policy["cache"] == twinPolicy["cache"])
        }
    }

    /// A kept model version as the candidate: promoting it rolls the models back to it.
    @Test func aModelVersionCandidateIsPromotedByRollingBack() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            try await Self.post(client, fixture, PolicyControllerTests.traffic(from: Self.start, count: 100))
            #expect(try await Self.json(client, "/v1/models/checkpoint", .post).0 == .created)
            let reversed = (0..<200).flatMap { step -> [String] in
                let time = Self.start + 1000 + Double(step) * 0.05
                return [LearnFixture.event("search", at: time, backend: "http://fast", latency: 80), LearnFixture.event("search", at: time, backend: "http://slow", latency: 5)]
            }
            try await Self.post(client, fixture, reversed)
            #expect(try await Self.json(client, "/v1/models/checkpoint", .post).0 == .created)
            let (status, started) = try await Self.json(
                client, "/v1/experiments", .post, #"{"mode":"canary","share":0.2,"candidate":{"model_version":1},"auto_promote":false}"#
            )
            #expect(status == .created)
            #expect(started["candidate"]?["model_version"] == 1)
            let (_, policy) = try await Self.json(client, "/v1/policy")
            #expect(policy["experiment"]?["candidate_version"] == 1)
            let candidateSlow = try #require(policy["experiment"]?["routing"]?["http://slow"]?["weight"]?.doubleValue)
            let currentSlow = try #require(policy["routing"]?["http://slow"]?["weight"]?.doubleValue)
            #expect(candidateSlow < currentSlow)
            let (promoted, ended) = try await Self.json(client, "/v1/experiments/exp-1/promote", .post)
            #expect(promoted == .ok)
            #expect(ended["status"] == "promoted")
            let (_, models) = try await Self.json(client, "/v1/models")
            #expect(models["current"] == 3)
            #expect(models["versions"]?.arrayValue?.last?["parent"] == 1)
            let (_, after) = try await Self.json(client, "/v1/policy")
            #expect(after["experiment"] == nil)
            #expect(after["routing"]?["http://slow"]?["weight"]?.doubleValue == candidateSlow)
        }
    }

    @Test func badRequestsNameWhatIsWrong() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            func problem(_ body: String) async throws -> String? {
                let (status, answer) = try await Self.json(client, "/v1/experiments", .post, body)
                return status == .created ? nil : answer["error"]?["message"]?.stringValue
            }
            #expect(try await problem(#"{"share":0.9,"candidate":{"routing":{"a":1}}}"#) == "experiment.share must be a number in (0, 0.5] for a canary")
            #expect(try await problem(#"{"mode":"blue","candidate":{}}"#) == "experiment.mode must be shadow or canary")
            #expect(try await problem(#"{"candidate":{}}"#) == "experiment.candidate must name model_version, or routing weights and/or cache TTLs")
            #expect(try await problem(#"{"candidate":{"cache":{"t":0}}}"#) == #"experiment.candidate.cache["t"] must be a number > 0"#)
            #expect(try await problem(#"{"candidate":{"model_version":99}}"#) == "model version 99 is not kept (kept: none)")
            #expect(try await problem(#"{"candidate":{"routing":{"a":1}},"guardrail":{"min_events":0}}"#) == "experiment.guardrail.min_events must be an integer ≥ 1")
            #expect(try await problem(#"{"candidate":{"routing":{"a":1}}}"#) == nil)
            #expect(try await problem(#"{"candidate":{"routing":{"a":1}}}"#) == "experiment exp-1 is running; stop or promote it first")
            #expect(try await Self.json(client, "/v1/experiments/exp-9/stop", .post).0 == .notFound)
            let (stopped, ended) = try await Self.json(client, "/v1/experiments/exp-1/stop", .post)
            #expect(stopped == .ok)
            #expect(ended["status"] == "stopped")
            let (again, answer) = try await Self.json(client, "/v1/experiments/exp-1/stop", .post)
            #expect(again == .conflict)
            #expect(answer["error"]?["message"] == "experiment exp-1 already ended (stopped)")
        }
    }
}
