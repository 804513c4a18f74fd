import Foundation
import HummingbirdTesting
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// Redis stopped under load and started again, inside the test: no call may fail, rate limits follow
/// the configured outage mode, and the gateway goes back to Redis by itself.
@Suite(.serialized)
struct RedisOutageTests {
    typealias Harness = GatewayHarness

    /// What the load saw.
    final class Tally: Sendable {
        /// Cleared to end the load.
        let running = Atomic<Bool>(true)
        private let state = Mutex<(ok: Int, failures: [String], statuses: [String: Int])>((0, [], [:]))
        func record(_ response: JSONValue, expected: String) {
            state.withLock { state in
                if response.resultText == expected && response["result"]?["isError"] == false {
                    state.ok += 1
                    state.statuses[response.cacheStatus ?? "none", default: 0] += 1
                } else {
                    state.failures.append(response.jsonString)
                }
            }
        }
        var snapshot: (ok: Int, failures: [String], statuses: [String: Int]) { state.withLock { $0 } }
    }

    @Test(arguments: [RateLimits.OutageMode.readOnlyOpen, .open])
    func callsKeepWorkingThroughAnOutageAndTheCacheComesBack(mode: RateLimits.OutageMode) async throws {
        let fixture = FileToolsFixture()
        for index in 0..<4 { try fixture.write("docs/\(index).md", "doc \(index)") }
        try await RedisServer.with { redis in
            let settings = ["SWITCHBOARD_RATE_LIMITS": "principal=100000/1s", "SWITCHBOARD_RATE_LIMIT_OUTAGE": mode.rawValue]
            try await Harness.run(fixture: fixture, redis: redis, settings) { client, _ in
                let tally = Tally()
                try await withThrowingTaskGroup(of: Void.self) { load in
                    for worker in 0..<4 {
                        load.addTask {
                            var round = 0
                            while tally.running.load(ordering: .relaxed) {
                                let index = (worker + round) % 4
                                let response = try await Harness.call(client, "read_file", #"{"path":"docs/\#(index).md"}"#, id: round)
                                tally.record(response, expected: "doc \(index)")
                                round += 1
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(400))
                    await redis.stop()
                    try await eventually("/ready reports the outage") { try await Harness.readiness(client, "redis")?["state"] == "degraded" }
                    let detail = try await Harness.readiness(client, "redis")?["detail"]?.stringValue ?? ""
                    #expect(detail.contains("unreachable") && detail.contains("cache bypassed, rate limits \(mode.rawValue)"))
                    // A write during the outage: refused in read-only-open mode, allowed in open mode.
                    let write = try await Harness.call(client, "write_file", #"{"path":"docs/new.md","content":"n"}"#)
                    if mode == .open {
                        #expect(write.resultText == "written")
                    } else {
                        #expect(write["error"]?["code"] == -32029)
                        #expect(write["error"]?["message"]?.stringValue?.contains("Rate limiter unavailable") == true)
                    }
                    try await Task.sleep(for: .milliseconds(600))
                    try await redis.restart()
                    try await eventually("/ready reports redis back", timeout: .seconds(15)) { try await Harness.readiness(client, "redis")?["state"] == "up" }
                    try await Task.sleep(for: .milliseconds(400))
                    tally.running.store(false, ordering: .relaxed)
                    try await load.waitForAll()
                }
                let seen = tally.snapshot
                #expect(seen.failures.isEmpty, "failed calls: \(seen.failures.prefix(3))")
                #expect(seen.ok > 20)
                #expect(seen.statuses["hit", default: 0] > 0)
                #expect(seen.statuses["unavailable", default: 0] > 0, "the outage must have been served uncached: \(seen.statuses)")
                // Back to Redis: the cache stores and hits again (the restarted server started empty).
                _ = try await Harness.call(client, "read_file", #"{"path":"docs/0.md"}"#, as: "bob")
                let again = try await Harness.call(client, "read_file", #"{"path":"docs/0.md"}"#, as: "bob")
                #expect(again.cacheStatus == "hit")
                let (_, metrics) = try await Harness.get(client, "/metrics")
                #expect(metrics.contains("switchboard_redis_up 1"))
                #expect(metrics.contains(#"switchboard_rate_limit_outage_decisions_total{mode="\#(mode.rawValue)",decision="allowed"}"#))
            }
        }
    }
}
