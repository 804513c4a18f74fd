import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

struct PolicyControllerTests {
    /// Two replicas, one five times slower (20 calls a second); a cacheable tool whose result never
    /// changes and one whose result always does (a call every 5 s: the run spans 5 s per step).
    static func traffic(from start: Double, count: Int) -> [String] {
        var events: [String] = []
        for step in 0..<count {
            let time = start + Double(step) * 0.05
            events.append(LearnFixture.event("search", at: time, backend: "http://fast", latency: 10))
            events.append(LearnFixture.event("search", at: time, backend: "http://slow", latency: 50))
            let later = start + Double(step) * 5
            events.append(LearnFixture.event("docs", at: later, backend: "http://fast", latency: 1, cacheKey: "k\(step % 4)", result: "same"))
            events.append(LearnFixture.event("quotes", at: later, backend: "http://fast", latency: 1, cacheKey: "k\(step % 4)", result: "r\(step)"))
        }
        return events
    }

    @Test func policyCarriesRoutingWeightsCacheTTLsAndAnswers304WhenUnchanged() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(Self.traffic(from: 1_732_180_000, count: 400))) { _ in }
            fixture.learner.applyPending()
            fixture.learner.publishPolicy()
            var etag = ""
            try await client.execute(uri: "/v1/policy", method: .get, headers: LearnFixture.auth) { response in
                #expect(response.status == .ok)
                etag = response.headers[.eTag] ?? ""
                let policy = try JSONParser.parse(response.body)
                #expect(etag == "\"policy-\(policy["version"]?.intValue ?? -1)\"")
                let fast = policy["routing"]?["http://fast"]?["weight"]?.doubleValue ?? 0
                let slow = policy["routing"]?["http://slow"]?["weight"]?.doubleValue ?? 1
                #expect(fast > 2 * slow)
                let docs = policy["cache"]?["docs"]?["ttl_seconds"]?.doubleValue ?? 0
                let quotes = policy["cache"]?["quotes"]?["ttl_seconds"]?.doubleValue ?? 0
                #expect(docs > 10 * quotes)
                #expect(policy["forecasts"]?["*"]?["calls_per_second"] != nil)
            }
            var headers = LearnFixture.auth
            headers[.ifNoneMatch] = etag
            try await client.execute(uri: "/v1/policy", method: .get, headers: headers) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            // New telemetry makes a new version whose parent is the old one.
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(Self.traffic(from: 1_732_182_000, count: 10))) { _ in }
            fixture.learner.applyPending()
            fixture.learner.publishPolicy()
            try await client.execute(uri: "/v1/policy", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                let policy = try JSONParser.parse(response.body)
                #expect("\"policy-\(policy["parent"]?.intValue ?? -1)\"" == etag)
            }
        }
    }

    @Test func latencyJumpBecomesAnAnomalyEventAndAMetric() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            let normal = (0..<200).map { LearnFixture.event("read_file", at: 1_732_180_000 + Double($0), latency: 2 + Double($0 % 5) * 0.1) }
            let jump = (200..<205).map { LearnFixture.event("read_file", at: 1_732_180_000 + Double($0), latency: 250) }
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: LearnFixture.batch(normal + jump)) { _ in }
            fixture.learner.applyPending()
            try await client.execute(uri: "/v1/anomalies?after=0", method: .get, headers: LearnFixture.auth) { response in
                let anomalies = try JSONParser.parse(response.body)["anomalies"]?.arrayValue ?? []
                let latency = anomalies.filter { $0["measure"] == "latency" && $0["subject"] == "read_file" }
                #expect(latency.first?["ts"]?.doubleValue == 1_732_180_200)
                #expect(latency.first?["value"] == 250)
                #expect(anomalies.allSatisfy { ($0["ts"]?.doubleValue ?? 0) >= 1_732_180_200 })
            }
            try await client.execute(uri: "/v1/anomalies?limit=0", method: .get, headers: LearnFixture.auth) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains(#"switchboard_learn_anomalies_total{scope="tool",measure="latency"}"#))
            }
        }
    }
}
