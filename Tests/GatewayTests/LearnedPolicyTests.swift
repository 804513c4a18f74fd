import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway
@testable import LearnService

/// The gateway on the learn service's policy: weighted replica choice, TTL precedence, and the policy
/// from a live learn service changing routing and cache TTLs end to end.
struct LearnedPolicyTests {
    static let fast = "http://127.0.0.1:1"
    static let slow = "http://127.0.0.1:2"

    @Test func weightsComeFromThePolicyAndAreEqualWithoutOne() {
        #expect(ToolBackends.weights(for: [Self.fast, Self.slow], learned: [:]) == [1, 1])
        #expect(ToolBackends.weights(for: [Self.fast, Self.slow], learned: [Self.fast: 0.9, Self.slow: 0.1]) == [0.9, 0.1])
        // A replica the policy does not name routes like the mean of the named ones.
        #expect(ToolBackends.weights(for: [Self.fast, Self.slow, "http://new"], learned: [Self.fast: 0.9, Self.slow: 0.1]) == [0.9, 0.1, 0.5])
        #expect(ToolBackends.weights(for: [Self.fast, Self.slow], learned: ["http://gone": 1]) == [1, 1])
    }

    /// Configured per-tool TTLs win; a learned TTL beats the default; unannotated tools stay uncached.
    @Test func configuredTTLsWinOverLearnedOnesWhichWinOverTheDefault() throws {
        var policy = try CachePolicy(defaultTTL: .seconds(30), entries: ["pinned=5s", "off=0"], maxResultBytes: 1024)
        policy.learnedTTLs = ["pinned": .seconds(900), "off": .seconds(900), "learned": .seconds(900), "writer": .seconds(900)]
        #expect(policy.rule(for: CacheTestSupport.tool("pinned"))?.ttl == .seconds(5))
        #expect(policy.rule(for: CacheTestSupport.tool("off")) == nil)
        #expect(policy.rule(for: CacheTestSupport.tool("learned"))?.ttl == .seconds(900))
        #expect(policy.rule(for: CacheTestSupport.tool("other"))?.ttl == .seconds(30))
        #expect(policy.rule(for: CacheTestSupport.tool("writer", readOnly: false)) == nil)
        policy.learnedTTLs = [:]
        #expect(policy.rule(for: CacheTestSupport.tool("learned"))?.ttl == .seconds(30))
    }

    /// The error reading `json` as a policy names, nil when it reads.
    static func problem(_ json: JSONValue) -> String? {
        do {
            _ = try LearnedPolicy.Snapshot(json: json)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func policyDocumentErrorsNameTheMember() {
        let problem = Self.problem
        #expect(problem(["routing": [:]]) == "policy.version must be an integer")
        #expect(problem(["version": 1, "routing": ["http://a": ["weight": -1]]]) == #"policy.routing["http://a"].weight must be a number ≥ 0"#)
        #expect(problem(["version": 1, "cache": ["t": ["ttl_seconds": "soon"]]]) == #"policy.cache["t"].ttl_seconds must be a number > 0"#)
        #expect(problem(["version": 3, "routing": ["http://a": ["weight": 0.5]], "cache": ["t": ["ttl_seconds": 2.5]]]) == nil)
    }

    /// The policy's `experiment` member: read with the canary's share, weights and TTLs; errors name the member.
    @Test func aCanaryIsReadFromThePolicy() throws {
        let snapshot = try LearnedPolicy.Snapshot(json: [
            "version": 4, "routing": ["http://a": ["weight": 0.5]],
            "experiment": ["id": "exp-2", "share": 0.1, "routing": ["http://a": ["weight": 1]], "cache": ["t": ["ttl_seconds": 90]]],
        ])
        #expect(snapshot.canary == LearnedPolicy.Canary(id: "exp-2", share: 0.1, weights: ["http://a": 1], ttls: ["t": .seconds(90)]))
        #expect(try LearnedPolicy.Snapshot(json: ["version": 4]).canary == nil)
        func problem(_ experiment: JSONValue) -> String? {
            do {
                _ = try LearnedPolicy.Snapshot(json: ["version": 1, "experiment": experiment])
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(["share": 0.1]) == "policy.experiment.id must be a non-empty string")
        #expect(problem(["id": "e", "share": 2]) == "policy.experiment.share must be a number in 0...1")
        #expect(problem(["id": "e", "share": 0.1, "routing": ["x": ["weight": "heavy"]]]) == #"policy.experiment.routing["x"].weight must be a number ≥ 0"#)
    }

    /// A canary started on a live learn service: the gateway serves its share of calls with the
    /// candidate's weights (every candidate call on the replica the candidate routes to), tags the
    /// telemetry with the arm so the learn service counts every call in one arm, and stops serving the
    /// candidate when the learn service goes away while keeping the last policy.
    @Test func aCanaryServesItsShareAndStopsWithoutTheLearnService() async throws {
        let (learnPort, learnApp) = try await Self.learnService()
        try await GatewayStack.withTools { fastPort in
            try await GatewayStack.withTools { slowPort in
                let fast = "http://127.0.0.1:\(fastPort)", slow = "http://127.0.0.1:\(slowPort)"
                let settings = ["SWITCHBOARD_LEARN_URL": "http://127.0.0.1:\(learnPort)", "SWITCHBOARD_CACHE_TOOLS": "test_simple_text=0"]
                try await GatewayStack.withGateway(toolsPort: fastPort, settings, replicas: StaticReplicas(urls: [fast, slow])) { stack in
                    try await LiveService.with(learnApp, port: learnPort) {
                        let learn = ServiceClient(baseURL: "http://127.0.0.1:\(learnPort)", httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(5))
                        let body = #"{"mode":"canary","share":0.5,"candidate":{"routing":{"\#(slow)":1,"\#(fast)":0}},"guardrail":{"min_events":1000,"promote_after":5000}}"#
                        let started = try await learn.send(.POST, "/v1/experiments", body: Array(body.utf8))
                        #expect(started.status == 201)
                        try await eventually("the gateway on the canary") { stack.parts.policy.current?.canary?.id == "exp-1" }
                        let calls = 40
                        for id in 0..<calls {
                            let reply = try await stack.post(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"test_simple_text","arguments":{}}}"#)
                            #expect(reply.json?["result"]?["isError"] != true)
                        }
                        var experiment = JSONValue.null
                        try await eventually("every call attributed to an arm") {
                            experiment = try await learn.json(.GET, "/v1/experiments/exp-1")
                            let control = experiment["control"]?["events"]?.intValue ?? 0
                            return control + (experiment["candidate_arm"]?["events"]?.intValue ?? 0) == Int64(calls)
                        }
                        let candidate = Int(experiment["candidate_arm"]?["events"]?.intValue ?? 0)
                        #expect(candidate > 0 && candidate < calls)
                        let onSlow = try await Self.calls(of: "test_simple_text", port: slowPort)
                        #expect(onSlow >= candidate, "\(onSlow) calls on the candidate's replica, \(candidate) candidate calls")
                        #expect(stack.parts.policy.summary.contains("canary exp-1 on 50.0% of calls"))
                    }
                    try await eventually("the canary dropped without the learn service") { stack.parts.policy.current?.canary == nil }
                    #expect(stack.parts.policy.current != nil)
                    #expect(stack.parts.policy.drawArm() == nil)
                }
            }
        }
    }

    /// A failed call names the replica it failed on, so the learn service learns error rates per replica.
    @Test func aFailedCallNamesItsReplicaForTelemetry() async throws {
        let url = "http://127.0.0.1:\(TestEnvironment.freePorts(1))"
        let backends = ToolBackends(source: StaticReplicas(urls: [url]), logger: CacheTestSupport.logger) {
            ServiceClient(baseURL: $0, httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(2))
        }
        do {
            _ = try await backends.call(CacheTestSupport.tool("test_simple_text"), arguments: ArraySlice("{}".utf8), principal: "p", callID: "c1", timeout: .seconds(2))
            Issue.record("a call to a closed port succeeded")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.backend == url)
        }
    }

    /// A learn service that is not there leaves the gateway on the fallback, and `/ready` says so.
    @Test func anUnreachableLearnServiceLeavesTheFallback() async throws {
        try await GatewayStack.withTools { toolsPort in
            let learnPort = TestEnvironment.freePorts(1)
            try await GatewayStack.withGateway(toolsPort: toolsPort, ["SWITCHBOARD_LEARN_URL": "http://127.0.0.1:\(learnPort)"]) { stack in
                try await eventually("a failed poll") { stack.parts.policy.summary.contains("last poll failed") }
                #expect(stack.parts.policy.current == nil)
                #expect(stack.parts.policy.summary.hasPrefix("fallback: equal weights, configured TTLs"))
                let ready = try await stack.send(.GET, "/ready", headers: [])
                let entry = ready.json?["dependencies"]?.arrayValue?.first { $0["name"] == "policy" }
                #expect(entry?["detail"]?.stringValue?.hasPrefix("fallback") == true)
            }
        }
    }

    /// Telemetry says one replica answers in 10 ms and the other in 200 ms, and that `test_audio_content`
    /// never changes: the live learn service's policy must send the large majority of calls to the fast
    /// replica and keep that tool's results past the configured 1 s TTL.
    @Test func theLearnedPolicyChangesRoutingAndCacheTTLs() async throws {
        let (learnPort, learnApp) = try await Self.learnService()
        try await LiveService.with(learnApp, port: learnPort) {
            try await GatewayStack.withTools { fastPort in
                try await GatewayStack.withTools { slowPort in
                    let fast = "http://127.0.0.1:\(fastPort)", slow = "http://127.0.0.1:\(slowPort)"
                    let learn = ServiceClient(baseURL: "http://127.0.0.1:\(learnPort)", httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(5))
                    let now = Date().timeIntervalSince1970
                    var events: [String] = []
                    for step in 0..<400 {
                        let time = now - 2000 + Double(step) * 0.05
                        events.append(Self.event("test_simple_text", at: time, backend: fast, latency: 10))
                        events.append(Self.event("test_simple_text", at: time, backend: slow, latency: 200))
                        events.append(Self.event("test_audio_content", at: now - 2000 + Double(step) * 5, backend: fast, latency: 1, cacheKey: "k\(step % 4)"))
                    }
                    let posted = try await learn.send(.POST, LearnServiceAPI.eventsPath, body: Array(#"{"events":[\#(events.joined(separator: ","))]}"#.utf8))
                    #expect(posted.status == 202)
                    var learned = JSONValue.null
                    try await eventually("a policy with both replicas and the tool's TTL") {
                        learned = try await learn.json(.GET, LearnServiceAPI.policyPath)
                        return learned["routing"]?[slow] != nil && learned["cache"]?["test_audio_content"] != nil
                    }
                    let fastWeight = try #require(learned["routing"]?[fast]?["weight"]?.doubleValue)
                    let slowWeight = try #require(learned["routing"]?[slow]?["weight"]?.doubleValue)
                    try #require(fastWeight > 2 * slowWeight)
                    let ttl = try #require(learned["cache"]?["test_audio_content"]?["ttl_seconds"]?.doubleValue)
                    try #require(ttl > 5)

                    let settings = [
                        "SWITCHBOARD_LEARN_URL": "http://127.0.0.1:\(learnPort)", "SWITCHBOARD_CACHE_TTL": "1s", "SWITCHBOARD_CACHE_TOOLS": "test_simple_text=0",
                    ]
                    try await GatewayStack.withGateway(toolsPort: fastPort, settings, replicas: StaticReplicas(urls: [slow, fast])) { stack in
                        try await eventually("the gateway on the learned policy") { stack.parts.policy.current != nil }
                        let version = try #require(stack.parts.policy.current?.version)
                        let ready = try await stack.send(.GET, "/ready", headers: [])
                        let entry = ready.json?["dependencies"]?.arrayValue?.first { $0["name"] == "policy" }
                        #expect(entry?["detail"]?.stringValue?.hasPrefix("version ") == true)
                        let metrics = try await stack.send(.GET, "/metrics", headers: []).text
                        let gauge = metrics.split(separator: "\n").first { $0.hasPrefix("switchboard_gateway_policy_version ") }
                        #expect((gauge.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) >= Double(version))

                        // Routing: the slow replica (listed first) gets only a small share.
                        let calls = 60
                        for id in 0..<calls {
                            let reply = try await stack.post(
                                #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"test_simple_text","arguments":{}}}"#
                            )
                            #expect(reply.json?["result"]?["isError"] != true)
                        }
                        let onFast = try await Self.calls(of: "test_simple_text", port: fastPort)
                        let onSlow = try await Self.calls(of: "test_simple_text", port: slowPort)
                        #expect(onFast + onSlow == calls)
                        #expect(onFast >= calls * 8 / 10, "fast \(onFast), slow \(onSlow) with weights \(fastWeight)/\(slowWeight)")

                        // Cache: the learned TTL, not the configured 1 s, keeps the entry.
                        let tool = try await stack.parts.backends.tool(named: "test_audio_content")
                        // The learn service republishes as the gateway's own telemetry arrives: compare with the version in force.
                        try await eventually("the cache on the policy's TTL") {
                            let inForce = stack.parts.policy.current?.ttls["test_audio_content"]
                            return inForce != nil && stack.parts.state.cache.policy.rule(for: tool)?.ttl == inForce
                        }
                        #expect(try #require(stack.parts.state.cache.policy.rule(for: tool)).ttl > .seconds(5))
                        let request = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_audio_content","arguments":{}}}"#
                        #expect(try await stack.post(request).json?["result"]?["_meta"]?["switchboard/cache"]?["status"] == "miss")
                        try await Task.sleep(for: .milliseconds(1500))
                        #expect(try await stack.post(request).json?["result"]?["_meta"]?["switchboard/cache"]?["status"] == "hit")
                    }
                }
            }
        }
    }

    /// Next-call prediction end to end: a principal repeats the workflow A then B (same arguments) while
    /// entries expire between rounds; the gateway's telemetry (cache keys, result hashes) lets the live
    /// learn service publish a warm transition A → B and learn the tools' cache policy; then calling A
    /// alone makes B a cache hit — the gateway ran B in the background, and the client's B did not reach
    /// the tool service.
    @Test func aPredictedNextCallIsWarmedIntoTheCache() async throws {
        let (learnPort, learnApp) = try await Self.learnService()
        try await LiveService.with(learnApp, port: learnPort) {
            try await GatewayStack.withTools { toolsPort in
                let settings = ["SWITCHBOARD_LEARN_URL": "http://127.0.0.1:\(learnPort)", "SWITCHBOARD_CACHE_TTL": "60s"]
                try await GatewayStack.withGateway(toolsPort: toolsPort, settings) { stack in
                    let learn = ServiceClient(baseURL: "http://127.0.0.1:\(learnPort)", httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(5))
                    let store = stack.parts.state.cache.store
                    func call(_ tool: String) async throws -> JSONValue? {
                        let reply = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(tool)","arguments":{}}}"#)
                        #expect(reply.json?["result"]?["isError"] != true)
                        return reply.json?["result"]?["_meta"]?["switchboard/cache"]?["status"]
                    }
                    var policy = JSONValue.null
                    func learned() async throws -> Bool {
                        policy = try await learn.json(.GET, LearnServiceAPI.policyPath)
                        let warm = policy["warm"]?.arrayValue ?? []
                        return warm.contains { $0["after_tool"] == "test_simple_text" && $0["next_tool"] == "test_audio_content" }
                    }
                    // Each round the entries have expired (the store is emptied), so both tools run.
                    var rounds = 0
                    repeat {
                        _ = try await store.invalidateAll()
                        _ = try await call("test_simple_text")
                        _ = try await call("test_audio_content")
                        rounds += 1
                        try await Task.sleep(for: .milliseconds(50))
                    } while try await !learned() && rounds < 40
                    try #require(try await learned(), "no warm transition after \(rounds) rounds: \(policy)")
                    let observations = try #require(policy["cache"]?["test_simple_text"]?["observations"]?.intValue)
                    #expect(observations > 0)
                    try await eventually("the gateway on the warm transition") { (stack.parts.state.predictive?.transitionCount ?? 0) > 0 }
                    // In-flight warming calls of the last round are done before the final round starts.
                    try await Task.sleep(for: .milliseconds(300))

                    _ = try await store.invalidateAll()
                    #expect(try await store.count() == 0)
                    let before = try await Self.calls(of: "test_audio_content", port: toolsPort)
                    let warmedBefore = try await Self.predictiveWarms(stack)
                    #expect(try await call("test_simple_text") == "miss")
                    try await eventually("test_audio_content warmed") { try await Self.predictiveWarms(stack) > warmedBefore }
                    #expect(try await Self.calls(of: "test_audio_content", port: toolsPort) == before + 1)
                    #expect(try await call("test_audio_content") == "hit")
                    #expect(try await Self.calls(of: "test_audio_content", port: toolsPort) == before + 1)
                }
            }
        }
    }

    /// `switchboard_cache_predictive_warms_total{outcome="stored"}` of a gateway.
    static func predictiveWarms(_ stack: GatewayStack) async throws -> Double {
        let text = try await stack.send(.GET, "/metrics", headers: []).text
        let row = text.split(separator: "\n").first { $0.hasPrefix(#"switchboard_cache_predictive_warms_total{outcome="stored"}"#) }
        return row.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// A live learn service's application on a free port (policy published every 100 ms, versions in memory).
    static func learnService() async throws -> (port: Int, application: some ApplicationProtocol) {
        let port = TestEnvironment.freePorts(1)
        let environment = try TestEnvironment.make(
            service: "learn", keys: ConfigKey.learnService,
            ["SWITCHBOARD_PORT": String(port), "SWITCHBOARD_LEARN_PUBLISH_INTERVAL": "100ms", "SWITCHBOARD_LEARN_STATE_DIR": ""]
        )
        return (port, try await LearnService.buildApplication(environment))
    }

    /// One telemetry event in wire form; cacheable calls carry a key and an unchanging result hash.
    static func event(_ tool: String, at time: Double, backend: String, latency: Double, cacheKey: String? = nil) -> String {
        var text = #"{"ts":\#(time),"tool":"\#(tool)","principal":"p","backend":"\#(backend)","latency_ms":\#(latency),"outcome":"ok","cache_hit":false,"arg_shape":[]"#
        if let cacheKey { text += #","cache_key":"\#(cacheKey)","result_hash":"same""# }
        return text + "}"
    }

    /// Successful calls of `tool` one tool-service replica counted (`switchboard_tool_calls_total`).
    static func calls(of tool: String, port: Int) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
        let row = text.split(separator: "\n").first { $0.hasPrefix("switchboard_tool_calls_total{") && $0.contains(#"tool="\#(tool)""#) && $0.contains(#"outcome="ok""#) }
        return row.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
    }
}
