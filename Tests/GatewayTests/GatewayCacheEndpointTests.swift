import Foundation
import HTTPTypes
import HummingbirdTesting
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// The cache, rate limits and shared state through the `/mcp` endpoint, with a real redis-server.
@Suite(.serialized)
struct GatewayCacheEndpointTests {
    typealias Harness = GatewayHarness

    @Test func repeatedReadsAreServedFromRedisAndAWriteThroughTheGatewayInvalidatesThem() async throws {
        let fixture = FileToolsFixture()
        try fixture.write("notes/todo.md", "v1")
        try await RedisServer.with { redis in
            try await Harness.run(fixture: fixture, redis: redis) { client, _ in
                let first = try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#)
                #expect(first.resultText == "v1")
                #expect(first.cacheStatus == "miss")
                let second = try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#, id: 2)
                #expect(second["id"] == 2)
                #expect(second.resultText == "v1")
                #expect(second.cacheStatus == "hit")
                #expect(fixture.calls("read_file") == 1)
                // Another principal has its own entry.
                #expect(try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#, as: "bob").cacheStatus == "miss")

                let written = try await Harness.call(client, "write_file", #"{"path":"\#(fixture.root.path)/notes/todo.md","content":"v2"}"#)
                #expect(written.resultText == "written")
                #expect(written["result"]?["_meta"] == nil)
                let fresh = try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#)
                #expect(fresh.resultText == "v2")
                #expect(fresh.cacheStatus == "miss")

                // The client can ask for a fresh answer.
                try fixture.write("notes/todo.md", "v3 (changed behind the gateway)")
                #expect(try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#).resultText == "v2")
                let bypassed = try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#, meta: #"{"switchboard/cache":"bypass"}"#)
                #expect(bypassed.cacheStatus == "bypass")
                #expect(bypassed.resultText == "v3 (changed behind the gateway)")
                #expect(try await Harness.call(client, "read_file", #"{"path":"notes/todo.md"}"#).resultText == "v3 (changed behind the gateway)")

                let (_, metrics) = try await Harness.get(client, "/metrics")
                #expect(metrics.contains(#"switchboard_cache_lookups_total{tool="read_file",result="hit"} 3"#))
                #expect(metrics.contains("switchboard_cache_invalidations_total 1"))
                #expect(metrics.contains(#"switchboard_redis_commands_total{command="MGET"}"#))
                #expect(metrics.contains("switchboard_redis_up 1"))
            }
        }
    }

    @Test func aRateLimitedCallIsError32029WithRetryAfter() async throws {
        let fixture = FileToolsFixture()
        try fixture.write("a.txt", "a")
        try await RedisServer.with { redis in
            let limits = ["SWITCHBOARD_RATE_LIMITS": "principal-tool@read_file=2/1m,tool@write_file=1/1m"]
            try await Harness.run(fixture: fixture, redis: redis, limits) { client, _ in
                #expect(try await Harness.call(client, "read_file", #"{"path":"a.txt"}"#)["result"] != nil)
                #expect(try await Harness.call(client, "read_file", #"{"path":"a.txt"}"#)["result"] != nil)
                let limited = try await Harness.call(client, "read_file", #"{"path":"a.txt"}"#, id: 7)
                #expect(limited["id"] == 7)
                #expect(limited["error"]?["code"] == -32029)
                #expect(limited["error"]?["data"]?["rule"] == "principal-tool@read_file=2/1m")
                let retry = try #require(limited["error"]?["data"]?["retryAfterSeconds"]?.doubleValue)
                #expect(retry > 20 && retry <= 30)
                #expect(limited["error"]?["message"]?.stringValue?.contains("retry after") == true)
                // bob has his own principal×tool bucket, but shares the per-tool one.
                #expect(try await Harness.call(client, "read_file", #"{"path":"a.txt"}"#, as: "bob")["result"] != nil)
                #expect(try await Harness.call(client, "write_file", #"{"path":"b.txt","content":"x"}"#, as: "bob")["result"] != nil)
                #expect(try await Harness.call(client, "write_file", #"{"path":"b.txt","content":"x"}"#)["error"]?["data"]?["scope"] == "tool")
                let (_, metrics) = try await Harness.get(client, "/metrics")
                #expect(metrics.contains(#"switchboard_rate_limit_rejections_total{scope="principal-tool"} 1"#))
            }
        }
    }

    @Test func readySaysWhereTheSharedStateLives() async throws {
        let fixture = FileToolsFixture()
        try await RedisServer.with { redis in
            try await Harness.run(fixture: fixture, redis: redis, ["SWITCHBOARD_RATE_LIMITS": "principal=10/s"]) { client, _ in
                try await eventually("redis up in /ready") { try await Harness.readiness(client, "redis")?["state"] == "up" }
                let entry = try await Harness.readiness(client, "redis")
                #expect(entry?["detail"]?.stringValue?.contains("redis://127.0.0.1:\(redis.port)/0: cache, rate limits and shared state in Redis") == true)
                #expect(try await Harness.readiness(client, "cache")?["detail"]?.stringValue?.hasPrefix("redis: 0 entries") == true)
                #expect(try await Harness.readiness(client, "rate-limits")?["detail"]?.stringValue?.hasPrefix("redis: 1 rule(s): principal=10/s") == true)
            }
        }
        try await Harness.run(fixture: fixture, redis: nil) { client, _ in
            let (status, _) = try await Harness.get(client, "/ready")
            #expect(status == .ok)
            let entry = try await Harness.readiness(client, "redis")
            #expect(entry?["state"] == "disabled")
            #expect(entry?["detail"]?.stringValue?.contains("in-process") == true)
            #expect(try await Harness.readiness(client, "cache")?["detail"]?.stringValue?.hasPrefix("in-process") == true)
            // The in-process cache works the same way.
            _ = try await Harness.call(client, "whoami", "{}")
            #expect(try await Harness.call(client, "whoami", "{}").cacheStatus == "hit")
        }
    }

    @Test func configuredCallsAreWarmedBeforeAnyClientAsks() async throws {
        let fixture = FileToolsFixture()
        try fixture.write("README.md", "hello")
        let warm = TestEnvironment.temporaryDirectory().appendingPathComponent("warm.json")
        try #"[{"tool":"read_file","arguments":{"path":"README.md"},"principal":"alice"},{"tool":"list_directory","arguments":{"path":"."}}]"#
            .write(to: warm, atomically: true, encoding: .utf8)
        try await RedisServer.with { redis in
            let settings = ["SWITCHBOARD_CACHE_WARM": warm.path, "SWITCHBOARD_CACHE_TOOLS": "list_directory=1m:shared"]
            try await Harness.run(fixture: fixture, redis: redis, settings) { client, _ in
                try await eventually("the warmer ran both calls") { fixture.calls("read_file") == 1 && fixture.calls("list_directory") == 1 }
                let read = try await Harness.call(client, "read_file", #"{"path":"README.md"}"#)
                #expect(read.cacheStatus == "hit")
                #expect(read.resultText == "hello")
                #expect(try await Harness.call(client, "list_directory", #"{"path":"."}"#, as: "bob").cacheStatus == "hit")
                #expect(fixture.calls("read_file") == 1)
                let (_, metrics) = try await Harness.get(client, "/metrics")
                #expect(metrics.contains(#"switchboard_cache_warm_calls_total{outcome="stored"} 2"#))
            }
        }
    }

    @Test func badSettingsAreOneLineNamingTheKey() throws {
        let warm = TestEnvironment.temporaryDirectory().appendingPathComponent("warm.json")
        try #"[{"tool":"read_file","arguments":{"path":"x"}}]"#.write(to: warm, atomically: true, encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("SWITCHBOARD_REDIS_URL", "rediss://cache:6379", "SWITCHBOARD_REDIS_URL: invalid Redis URL 'rediss://cache:6379': TLS (rediss://) is not supported"),
            ("SWITCHBOARD_RATE_LIMITS", "principal=fast", "invalid rule 'principal=fast' in SWITCHBOARD_RATE_LIMITS"),
            ("SWITCHBOARD_CACHE_TOOLS", "read_file", "invalid entry 'read_file' in SWITCHBOARD_CACHE_TOOLS"),
            ("SWITCHBOARD_CACHE_WARM", warm.path, "entry 1 (read_file): \"principal\" is required"),
            ("SWITCHBOARD_CACHE_WARM", "/nonexistent/warm.json", "SWITCHBOARD_CACHE_WARM: /nonexistent/warm.json: cannot read the file"),
        ]
        for (key, value, message) in cases {
            let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, [key: value, "SWITCHBOARD_LEARN_URL": ""])
            #expect {
                try GatewayParts(environment)
            } throws: { error in
                (error as? ConfigurationError)?.description.contains(message) == true
            }
        }
        #expect(throws: ConfigurationError.self) {
            try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, ["SWITCHBOARD_RATE_LIMIT_OUTAGE": "maybe"])
        }
    }
}
