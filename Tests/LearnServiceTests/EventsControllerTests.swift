import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

struct EventsControllerTests {
    @Test func acceptsBatchesAndLearnsFromThem() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            let body = LearnFixture.batch([LearnFixture.event("read_file"), LearnFixture.event("read_file", latency: 4, outcome: "tool_error"), LearnFixture.event("list_directory")])
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: body) { response in
                #expect(response.status == .accepted)
                let answer = try JSONParser.parse(response.body)
                #expect(answer == ["accepted": 3, "dropped": 0])
            }
            #expect(fixture.learner.applyPending() == 3)
            try await client.execute(uri: "/v1/stats", method: .get, headers: LearnFixture.auth) { response in
                let stats = try JSONParser.parse(response.body)
                #expect(stats["learned"] == 3)
                #expect(stats["queue_depth"] == 0)
                // Latency and error rate of two tools, latency of one replica.
                #expect(stats["watched_series"] == 5)
            }
        }
    }

    /// The cache fields of the event contract reach the cache model: a key executed twice with the same
    /// result is one observation in the policy's cache section; a mistyped key is named.
    @Test func cacheKeysAndResultHashesFeedTheCachePolicy() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            let events = (0..<6).map { LearnFixture.event("read_file", at: 1_732_180_000 + Double($0) * 10, cacheKey: "k\($0 % 2)", result: "same") }
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(events)) { response in
                #expect(response.status == .accepted)
            }
            #expect(fixture.learner.applyPending() == 6)
            fixture.learner.publishPolicy()
            try await client.execute(uri: "/v1/policy", method: .get, headers: LearnFixture.auth) { response in
                let cache = try JSONParser.parse(response.body)["cache"]?["read_file"]
                #expect(cache?["observations"] == 4)
                #expect(cache?["reuse"]?.doubleValue ?? 0 > 0.6)
            }
            let mistyped = ByteBuffer(string: #"{"events":[{"ts":1,"tool":"b","latency_ms":1,"outcome":"ok","cache_key":7}]}"#)
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: mistyped) { response in
                #expect(response.status == .badRequest)
                let message = try JSONParser.parse(response.body)["error"]?["message"]
                #expect(message == "events[0]: event.cache_key must be a string")
            }
        }
    }

    @Test func invalidEventsNameTheIndexAndField() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            let body = ByteBuffer(string: #"{"events":[\#(LearnFixture.event("a")),{"ts":1,"tool":"b","latency_ms":1,"outcome":"great"}]}"#)
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: body) { response in
                #expect(response.status == .badRequest)
                let message = try JSONParser.parse(response.body)["error"]?["message"]?.stringValue ?? ""
                #expect(message.hasPrefix("events[1]: event.outcome must be one of ok, tool_error"))
            }
            try await client.execute(uri: "/v1/events", method: .post, body: LearnFixture.batch([LearnFixture.event("a")])) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func aFullQueueDropsAndCountsInsteadOfWaiting() async throws {
        let fixture = try await LearnFixture(queue: 16)
        try await fixture.application.test(.router) { client in
            let body = LearnFixture.batch((0..<20).map { LearnFixture.event("t\($0)") })
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: body) { response in
                let answer = try JSONParser.parse(response.body)
                #expect(answer == ["accepted": 16, "dropped": 4])
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("switchboard_learn_events_dropped_total 4"))
                #expect(text.contains("switchboard_learn_queue_depth 16"))
            }
        }
    }
}
