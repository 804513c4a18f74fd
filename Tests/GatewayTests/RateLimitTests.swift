import Foundation
import Logging
import Prometheus
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

struct RateLimitRuleTests {
    @Test func parsesScopesRatesAndBursts() throws {
        let perPrincipal = try RateLimitRule("principal=600/1m")
        #expect(perPrincipal.scope == .principal)
        #expect(perPrincipal.tool == nil)
        #expect(perPrincipal.tokensPerSecond == 10)
        #expect(perPrincipal.burst == 600)
        let perTool = try RateLimitRule("tool@execute_command=5/s:10")
        #expect(perTool.scope == .tool)
        #expect(perTool.tool == "execute_command")
        #expect(perTool.tokensPerSecond == 5)
        #expect(perTool.burst == 10)
        #expect(try RateLimitRule("principal-tool=3/500ms").tokensPerSecond == 6)
    }

    @Test(arguments: [
        ("principal", "expected SCOPE[@TOOL]=COUNT/PERIOD"),
        ("everyone=1/s", "unknown scope 'everyone'"),
        ("principal@read_file=1/s", "use principal-tool@read_file"),
        ("tool=0/s", "COUNT must be a positive integer"),
        ("tool=5/fortnight", "PERIOD 'fortnight' must be a duration"),
        ("tool=5/s:none", "BURST 'none' must be a positive integer"),
    ])
    func badRulesNameTheProblem(rule: String, message: String) {
        #expect {
            try RateLimitRule(rule)
        } throws: { error in
            let description = (error as? ConfigurationError)?.description ?? ""
            return description.contains(message) && description.contains("'\(rule)'")
        }
    }

    @Test func aToolRuleReplacesTheGeneralRuleOfItsScope() throws {
        let rules = try RateLimits.rules(from: ["principal=100/m", "tool=50/s", "tool@write_file=2/s", "principal-tool@write_file=1/s"])
        #expect(RateLimitRule.applicable(rules, tool: "read_file").map(\.description) == ["principal=100/m", "tool=50/s"])
        #expect(RateLimitRule.applicable(rules, tool: "write_file").map(\.description) == ["principal=100/m", "tool@write_file=2/s", "principal-tool@write_file=1/s"])
    }
}

/// Token buckets over both limiters: in-process and a real redis-server (the Lua script).
@Suite(.serialized)
struct RateLimitTests {
    let read = CacheTestSupport.tool("read_file")
    let list = CacheTestSupport.tool("list_directory")
    let write = CacheTestSupport.tool("write_file", readOnly: false)

    func withLimits(
        _ kind: StoreKind, _ rules: [String], outage: RateLimits.OutageMode = .readOnlyOpen,
        _ body: @Sendable (RateLimits, RedisServer?, PrometheusCollectorRegistry) async throws -> Void
    ) async throws {
        let registry = PrometheusCollectorRegistry()
        let parsed = try RateLimits.rules(from: rules)
        switch kind {
        case .memory:
            try await body(RateLimits(rules: parsed, limiter: MemoryRateLimiter(), outage: outage, registry: registry, logger: CacheTestSupport.logger), nil, registry)
        case .redis:
            try await RedisServer.with { server in
                let client = try CacheTestSupport.redisClient(server.url)
                let limits = RateLimits(rules: parsed, limiter: RedisRateLimiter(client: client), outage: outage, registry: registry, logger: CacheTestSupport.logger)
                try await body(limits, server, registry)
                await client.close()
            }
        }
    }

    /// How many of `attempts` back-to-back calls get through, and the first denial.
    func admitted(_ limits: RateLimits, principal: String, tool: ToolEntry, attempts: Int) async -> (Int, RateLimitDenial?) {
        var allowed = 0
        var denial: RateLimitDenial?
        for _ in 0..<attempts {
            do {
                try await limits.admit(principal: principal, tool: tool)
                allowed += 1
            } catch {
                denial = error  // the last refusal: its retry-after is measured from the last attempt
            }
        }
        return (allowed, denial)
    }

    @Test(arguments: StoreKind.allCases)
    func aPrincipalLimitCoversAllToolsOfThatPrincipalOnly(kind: StoreKind) async throws {
        try await withLimits(kind, ["principal=3/1m"]) { limits, _, registry in
            #expect(await admitted(limits, principal: "alice", tool: read, attempts: 2).0 == 2)
            let (allowed, denial) = await admitted(limits, principal: "alice", tool: list, attempts: 3)
            #expect(allowed == 1)
            let refused = try #require(denial)
            #expect(refused.rule == "principal=3/1m")
            #expect(refused.scope == "principal")
            // One token per 20 s: the wait is close to that.
            #expect(refused.retryAfter > .seconds(15) && refused.retryAfter <= .seconds(20))
            #expect(await admitted(limits, principal: "bob", tool: read, attempts: 3).0 == 3)
            #expect(CacheTestSupport.metric(registry, #"switchboard_rate_limit_rejections_total{scope="principal"}"#) == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aToolLimitIsSharedByAllPrincipals(kind: StoreKind) async throws {
        try await withLimits(kind, ["tool@write_file=2/1m"]) { limits, _, _ in
            #expect(await admitted(limits, principal: "alice", tool: write, attempts: 1).0 == 1)
            #expect(await admitted(limits, principal: "bob", tool: write, attempts: 1).0 == 1)
            let (allowed, denial) = await admitted(limits, principal: "carol", tool: write, attempts: 1)
            #expect(allowed == 0)
            #expect(denial?.scope == "tool")
            // Other tools have no rule: no limit.
            #expect(await admitted(limits, principal: "carol", tool: read, attempts: 10).0 == 10)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aPrincipalToolLimitIsPerPairAndRefills(kind: StoreKind) async throws {
        try await withLimits(kind, ["principal-tool=2/400ms"]) { limits, _, _ in
            #expect(await admitted(limits, principal: "alice", tool: read, attempts: 3).0 == 2)
            #expect(await admitted(limits, principal: "alice", tool: list, attempts: 2).0 == 2)
            #expect(await admitted(limits, principal: "bob", tool: read, attempts: 2).0 == 2)
            let (_, denial) = await admitted(limits, principal: "alice", tool: read, attempts: 5)
            let wait = try #require(denial).retryAfter
            #expect(wait > .zero && wait <= .milliseconds(200))
            try await Task.sleep(for: wait + .milliseconds(30))
            #expect(await admitted(limits, principal: "alice", tool: read, attempts: 1).0 == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRefusedCallTakesNoTokenFromTheOtherBuckets(kind: StoreKind) async throws {
        try await withLimits(kind, ["principal=5/1m", "principal-tool@write_file=1/1m"]) { limits, _, _ in
            #expect(await admitted(limits, principal: "alice", tool: write, attempts: 4).0 == 1)
            // Three refused writes did not spend alice's principal budget: four calls remain.
            #expect(await admitted(limits, principal: "alice", tool: read, attempts: 5).0 == 4)
        }
    }

    @Test func replicasShareTheBucketsInRedis() async throws {
        try await RedisServer.with { server in
            let registry = PrometheusCollectorRegistry()
            let rules = try RateLimits.rules(from: ["principal=4/1m"])
            let first = try CacheTestSupport.redisClient(server.url)
            let second = try CacheTestSupport.redisClient(server.url)
            let replicaA = RateLimits(rules: rules, limiter: RedisRateLimiter(client: first), outage: .closed, registry: registry, logger: CacheTestSupport.logger)
            let replicaB = RateLimits(rules: rules, limiter: RedisRateLimiter(client: second), outage: .closed, registry: PrometheusCollectorRegistry(), logger: CacheTestSupport.logger)
            #expect(await admitted(replicaA, principal: "alice", tool: read, attempts: 3).0 == 3)
            #expect(await admitted(replicaB, principal: "alice", tool: read, attempts: 3).0 == 1)
            let keys = try await first.send(RedisCommand("KEYS", "sb:rl:*")).array ?? []
            #expect(keys == [.bulkString(Array("sb:rl:p:alice".utf8))])
            #expect(try await first.send(RedisCommand("PTTL", "sb:rl:p:alice")).integer ?? 0 > 0)
            await first.close()
            await second.close()
        }
    }

    @Test(arguments: RateLimits.OutageMode.allCases)
    func whileRedisIsUnreachableTheConfiguredModeDecides(mode: RateLimits.OutageMode) async throws {
        let registry = PrometheusCollectorRegistry()
        let client = try CacheTestSupport.redisClient("redis://127.0.0.1:\(TestEnvironment.freePorts(1))")
        let limits = RateLimits(
            rules: try RateLimits.rules(from: ["principal=2/1m"]), limiter: RedisRateLimiter(client: client), outage: mode, registry: registry,
            logger: CacheTestSupport.logger
        )
        let reads = await admitted(limits, principal: "alice", tool: read, attempts: 3)
        let writes = await admitted(limits, principal: "bob", tool: write, attempts: 3)
        switch mode {
        case .open:
            #expect(reads.0 == 3 && writes.0 == 3)
        case .closed:
            #expect(reads.0 == 0 && writes.0 == 0)
            #expect(writes.1?.message.contains("Rate limiter unavailable") == true)
            #expect(writes.1?.data["retryAfterSeconds"] == 1.0)
        case .readOnlyOpen:
            #expect(reads.0 == 3 && writes.0 == 0)
            #expect(writes.1?.message.contains("SWITCHBOARD_RATE_LIMIT_OUTAGE=read-only-open") == true)
        case .local:
            // The same rules, enforced per replica.
            #expect(reads.0 == 2 && writes.0 == 2)
        }
        #expect(CacheTestSupport.metric(registry, #"switchboard_rate_limit_outage_decisions_total{mode="\#(mode.rawValue)",decision="\#(mode == .local ? "local" : mode == .closed ? "refused" : "allowed")"}"#) > 0)
    }

    @Test func aDenialIsAJSONRPCErrorTheModelCanActOn() throws {
        let denial = RateLimitDenial(rule: "principal-tool@write_file=5/1s", scope: "principal-tool", retryAfter: .milliseconds(1234.5), message: "Rate limit exceeded")
        let error = denial.jsonRPCError
        #expect(error.code == .rateLimited)
        #expect(error.code.rawValue == -32029)
        #expect(error.data == ["retryAfterSeconds": 1.235, "rule": "principal-tool@write_file=5/1s", "scope": "principal-tool"])
    }
}
