import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// `switchboard scale` with real replicas: removed slots leave the routing list and are stopped only once
/// every gateway watching the list has seen it without them; new slots take the lowest free numbers and
/// their own ports.
@Suite(.serialized)
struct ScaleAndDrainTests {
    @Test func scalingDownDrainsBeforeStoppingAndScalingUpRefillsTheLowestSlots() async throws {
        let yaml = """
            services:
              web:
                x-switchboard: {command: [sh, -c, "exec sleep 1000"], port: $BASE}
                stop_grace_period: 1s
                deploy: {replicas: 3}
            """
        try await StackHarness.with(yaml, configure: { $0.drainTimeout = .seconds(20) }) { harness in
            let board = harness.stack.board
            let start = board.current("web")
            #expect(start.endpoints.map(\.slot) == [1, 2, 3])
            #expect(start.endpoints.map(\.url) == (0..<3).map { "http://127.0.0.1:\(harness.basePort + $0)" })
            // A gateway has seen this list.
            _ = await board.watch("web", since: start.version, watcher: "gateway-1", wait: .zero)
            let removed = await harness.tasks("web").filter { $0.key.slot > 1 }

            let scaling = Task { try await harness.stack.scale("web", to: 1) }
            try await harness.waitUntil("slots 2 and 3 out of the routing list") { _ in
                board.current("web").endpoints.map(\.slot) == [1]
            }
            // Until the gateway asks again (acknowledging the shorter list) the replicas keep running.
            try await Task.sleep(for: .milliseconds(500))
            #expect(removed.allSatisfy { $0.process?.status == nil })
            #expect(board.watchers("web") == ["gateway-1": start.version])

            let shorter = board.current("web")
            _ = await board.watch("web", since: shorter.version, watcher: "gateway-1", wait: .zero)
            #expect(try await scaling.value == 3)
            #expect(removed.allSatisfy { $0.process?.status != nil })
            let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/web.3.log"), encoding: .utf8)
            let drained = try #require(log.range(of: "drained: out of the routing list (version "))
            let stopped = try #require(log.range(of: "stopped task"))
            #expect(drained.lowerBound < stopped.lowerBound)
            #expect(await harness.tasks("web").map(\.key.slot) == [1])

            // Up again: slot 2 is the lowest free one, on its own port.
            #expect(try await harness.stack.scale("web", to: 2) == 1)
            try await harness.waitUntil("two replicas in the routing list") { _ in
                board.current("web").endpoints.count == 2
            }
            let after = board.current("web").endpoints
            #expect(after.map(\.slot) == [1, 2])
            #expect(after.map(\.url) == ["http://127.0.0.1:\(harness.basePort)", "http://127.0.0.1:\(harness.basePort + 1)"])
            #expect(Set(after.map(\.task)) == Set(await harness.tasks("web").map(\.id)))
            await #expect(throws: StackError.self) { try await harness.stack.scale("web", to: 1001) }
        }
    }
}
