import AsyncHTTPClient
import Foundation
import Logging
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// What the gateway's cache takes from the learn service's policy and gives back to it: the telemetry
/// cache fields, admission by `admit_after`, and the `warm` transitions read from the policy.
@Suite(.serialized)
struct LearnedCacheTests {
    typealias Support = CacheTestSupport
    let read = Support.tool("read_file")
    let list = Support.tool("list_directory")

    func args(_ json: String) -> ArraySlice<UInt8> { Array(json.utf8)[...] }

    /// A cacheable call carries an opaque key (equal for equal calls, per principal, no argument values
    /// in it) and, when the tool ran, a hash of the result; a hit has the key and no result hash.
    @Test func servedCallsCarryTheirCacheKeyAndResultHash() async throws {
        try await Support.withCache(.memory) { cache, _, _ in
            let backend = CountingBackend()
            let miss = try await cache.serve(tool: read, arguments: args(#"{"path":"secret.txt","offset":1}"#), principal: "alice") { try await backend.run() }
            let key = try #require(miss.cacheKey)
            #expect(key.count == 32 && key.allSatisfy(\.isHexDigit))
            #expect(!key.contains("secret"))
            let raw = try await CountingBackend().run().result
            #expect(miss.resultHash == ToolResultCache.resultHash(raw))
            #expect(miss.resultHash?.count == 16)
            let hit = try await cache.serve(tool: read, arguments: args(#"{"offset":1,"path":"secret.txt"}"#), principal: "alice") { try await backend.run() }
            #expect(hit.status == .hit)
            #expect(hit.cacheKey == key)
            #expect(hit.resultHash == nil)
            let bob = try await cache.serve(tool: read, arguments: args(#"{"path":"secret.txt","offset":1}"#), principal: "bob") { try await backend.run() }
            #expect(bob.cacheKey != key)
            #expect(bob.resultHash != miss.resultHash, "call 2 answers differently from call 1")
            // Not cacheable: no cache fields.
            let writer = Support.tool("write_file", readOnly: false)
            let write = try await cache.serve(tool: writer, arguments: args(#"{"path":"x"}"#), principal: "alice") { try await backend.run() }
            #expect(write.cacheKey == nil && write.resultHash == nil)
        }
    }

    /// With a learned `admit_after` of 2 a result is stored on its key's second request, not its first;
    /// other tools (and the cache without a learned policy) store at once.
    @Test(arguments: StoreKind.allCases)
    func aResultIsStoredOnlyOnceItsKeyWasAskedForAdmitAfterTimes(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, registry in
            cache.admission.setLearned(["read_file": 2])
            let backend = CountingBackend()
            let call = { try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() } }
            #expect(try await call().status == .miss)
            #expect(try await cache.store.count() == 0)
            #expect(Support.metric(registry, #"switchboard_cache_stores_total{outcome="not_admitted"}"#) == 1)
            #expect(try await call().status == .miss)
            #expect(try await cache.store.count() == 1)
            let third = try await call()
            #expect(third.status == .hit)
            #expect(third.text == "call 2")
            #expect(backend.calls == 2)
            #expect(try await cache.serve(tool: list, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() }.status == .miss)
            #expect(try await cache.store.count() == 2)
            cache.admission.setLearned([:])
            _ = try await cache.serve(tool: read, arguments: args(#"{"path":"b"}"#), principal: "p") { try await backend.run() }
            #expect(try await cache.store.count() == 3)
        }
    }

    /// Transitions below the warmer's probability threshold are not acted on.
    @Test func theWarmerKeepsOnlyLikelyTransitions() async throws {
        try await Support.withCache(.memory) { cache, _, registry in
            let backends = ToolBackends(source: StaticReplicas(urls: ["http://127.0.0.1:1"]), logger: Support.logger) {
                ServiceClient(baseURL: $0, httpClient: .shared, secret: TestEnvironment.secret, timeout: .seconds(1))
            }
            let warmer = PredictiveWarmer(
                cache: cache, backends: backends, toolTimeout: .seconds(1), metrics: CacheMetrics(registry: registry), logger: Support.logger, minimumProbability: 0.6
            )
            warmer.setTransitions([
                PredictiveWarmer.Transition(afterTool: "a", afterKey: "k1", nextTool: "b", nextKey: "k2", probability: 0.9),
                PredictiveWarmer.Transition(afterTool: "a", afterKey: "k1", nextTool: "c", nextKey: "k3", probability: 0.3),
            ])
            #expect(warmer.transitionCount == 1)
            warmer.setTransitions([])
            #expect(warmer.transitionCount == 0)
        }
    }

    /// The policy's `admit_after` and `warm` members are read; a malformed one is named.
    @Test func admissionAndWarmTransitionsAreReadFromThePolicy() throws {
        let snapshot = try LearnedPolicy.Snapshot(json: [
            "version": 2, "cache": ["read_file": ["ttl_seconds": 30, "admit_after": 2]],
            "warm": [["after_tool": "a", "after_key": "k1", "next_tool": "b", "next_key": "k2", "probability": 0.8]],
        ])
        #expect(snapshot.admitAfter == ["read_file": 2])
        #expect(snapshot.warm == [PredictiveWarmer.Transition(afterTool: "a", afterKey: "k1", nextTool: "b", nextKey: "k2", probability: 0.8)])
        let problem = LearnedPolicyTests.problem
        #expect(problem(["version": 1, "cache": ["t": ["ttl_seconds": 5, "admit_after": 0]]]) == #"policy.cache["t"].admit_after must be an integer ≥ 1"#)
        #expect(problem(["version": 1, "warm": ["a"]]) == "policy.warm[0].after_tool must be a non-empty string")
        #expect(
            problem(["version": 1, "warm": [["after_tool": "a", "after_key": "k", "next_tool": "b", "next_key": "j", "probability": 2]]])
                == "policy.warm[0].probability must be a number in 0...1"
        )
    }
}
