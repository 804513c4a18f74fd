import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// swarmkit's updater, with real replicas (`sh` running `sleep`) whose compose healthcheck follows their
/// `MODE`: `good`; `broken` never healthy; `flaky` healthy for its first 700 ms, then failing; `broken1`
/// failing only in slot 1.
@Suite(.serialized)
struct RollingUpdateTests {
    static func compose(replicas: Int, update: String, rollback: String = "{parallelism: 0, order: start-first, monitor: 500ms}") -> String {
        """
        services:
          web:
            x-switchboard:
              command: [sh, -c, 'date +%s%N > "$DIR/started-$$SWITCHBOARD_PORT"; exec sleep 1000']
              port: $BASE
            environment: {MODE: good}
            healthcheck:
              test: ["CMD-SHELL", 'case "$$MODE" in broken) exit 1;; broken1) test "$$SWITCHBOARD_REPLICA" != 1;; flaky) test $$(( $$(date +%s%N) - $$(cat "$DIR/started-$$SWITCHBOARD_PORT") )) -lt 700000000;; *) exit 0;; esac']
              interval: 100ms
              start_interval: 50ms
              start_period: 300ms
              retries: 2
              timeout: 2s
            stop_grace_period: 1s
            deploy:
              replicas: \(replicas)
              restart_policy: {condition: any, delay: 200ms}
              update_config: \(update)
              rollback_config: \(rollback)
        """
    }

    private func waitForState(_ harness: StackHarness, _ state: UpdateStatus.State, timeout: Duration = .seconds(30)) async throws {
        try await harness.waitUntil("update state \(state.rawValue)", timeout: timeout) { stack in
            await stack.runtime("web")?.update?.state == state
        }
    }

    @Test func aFailureWithinTheMonitorWindowRollsBackAutomatically() async throws {
        let yaml = Self.compose(replicas: 2, update: "{parallelism: 1, order: start-first, failure_action: rollback, monitor: 5s}")
        try await StackHarness.with(yaml) { harness in
            #expect(try await harness.stack.update("web", UpdateRequest(environment: ["MODE": "flaky"])) == true)
            try await waitForState(harness, .rollbackCompleted)
            let runtime = try #require(await harness.stack.runtime("web"))
            let states = runtime.updateHistory.map(\.state)
            #expect(states == [.updating, .rollbackStarted, .rollbackCompleted])
            #expect(runtime.updateHistory[1].message.hasPrefix("update rolled back due to failure or early termination of task "))
            #expect(runtime.updateHistory[2].message == "rollback completed")
            #expect(runtime.version == 1)
            #expect(runtime.previous == nil)
            try await harness.waitUntil("two good replicas") { stack in
                let tasks = await stack.replicas.filter { $0.desired == .running }
                return tasks.count == 2 && tasks.allSatisfy { $0.isReady && $0.definition.environment["MODE"] == "good" && $0.specVersion == 1 }
            }
        }
    }

    @Test func aFailureAfterTheMonitorWindowDoesNotCount() async throws {
        let yaml = Self.compose(replicas: 2, update: "{parallelism: 1, delay: 1s, order: start-first, failure_action: rollback, monitor: 300ms}")
        try await StackHarness.with(yaml) { harness in
            try await harness.stack.update("web", UpdateRequest(environment: ["MODE": "flaky"]))
            try await waitForState(harness, .completed)
            let runtime = try #require(await harness.stack.runtime("web"))
            #expect(runtime.updateHistory.map(\.state) == [.updating, .completed])
            #expect(runtime.update?.message == "update completed")
            #expect(runtime.version == 2)
            // The new replicas did fail (700 ms after starting), but later than monitor after RUNNING: restarted, not counted.
            #expect((await harness.stack.replicaReports).contains { ($0["restarts"]?.intValue ?? 0) >= 1 })
        }
    }

    @Test func pauseKeepsTheOldReplicaAndManualRollbackSwapsTheDefinitions() async throws {
        let yaml = Self.compose(replicas: 3, update: "{parallelism: 1, order: start-first, failure_action: pause, monitor: 1s}")
        try await StackHarness.with(yaml) { harness in
            try await harness.stack.update("web", UpdateRequest(environment: ["MODE": "broken"]))
            try await waitForState(harness, .paused)
            let runtime = try #require(await harness.stack.runtime("web"))
            #expect(runtime.update?.message.hasPrefix("update paused due to failure or early termination of task ") == true)
            // Slot 1 still has its old, ready task (start-first keeps it); slots 2 and 3 were not touched.
            for slot in 1...3 {
                let tasks = await harness.stack.tasks(in: ReplicaKey(service: "web", slot: slot))
                #expect(tasks.contains { $0.specVersion == 1 && $0.isReady }, "slot \(slot): \(tasks.map { "\($0.id) v\($0.specVersion)" })")
                if slot > 1 { #expect(tasks.allSatisfy { $0.specVersion == 1 }) }
            }
            try await harness.stack.rollback("web")
            try await waitForState(harness, .rollbackCompleted)
            let after = try #require(await harness.stack.runtime("web"))
            #expect(after.version == 1)
            #expect(after.previous?.number == 2)
            #expect(after.previous?.definition.environment["MODE"] == "broken")
            #expect(after.updateHistory.first { $0.state == .rollbackStarted }?.message == "manually requested rollback")
            try await harness.waitUntil("three good replicas, one per slot") { stack in
                let tasks = await stack.replicas.filter { $0.desired == .running }
                return tasks.count == 3 && tasks.allSatisfy { $0.isReady && $0.specVersion == 1 }
            }
        }
    }

    /// `failures / dirty slots > max_failure_ratio`, strictly: one failing slot of four is 0.25.
    @Test(arguments: [(0.25, UpdateStatus.State.completed), (0.2, .paused)])
    func theFailureRatioIsComparedStrictly(ratio: Double, outcome: UpdateStatus.State) async throws {
        let yaml = Self.compose(replicas: 4, update: "{parallelism: 1, order: stop-first, failure_action: pause, monitor: 1s, max_failure_ratio: \(ratio)}")
        try await StackHarness.with(yaml) { harness in
            let before = await harness.tasks("web").filter { $0.key.slot == 2 }.map(\.id)
            try await harness.stack.update("web", UpdateRequest(environment: ["MODE": "broken1"]))
            try await waitForState(harness, outcome)
            let runtime = try #require(await harness.stack.runtime("web"))
            #expect(runtime.updateHistory.map(\.state) == [.updating, outcome])
            if outcome == .completed {
                // Stop-first: slot 2's old task stopped before its new one started.
                let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/web.2.log"), encoding: .utf8)
                let stopped = try #require(log.range(of: "stopped task \(before[0])"))
                let started = try #require(log.range(of: "(spec 2)"))
                #expect(stopped.lowerBound < started.lowerBound)
            }
        }
    }

    /// `parallelism` slots at a time: stop-first takes that many out of service at once; start-first runs
    /// that many extra tasks and never has fewer ready than the replica count.
    @Test(arguments: [("stop-first", 2, 2, 4), ("start-first", 2, 4, 6), ("stop-first", 0, 0, 4)])
    func parallelismAndOrderBoundWhatRunsDuringTheUpdate(order: String, parallelism: Int, minimumReady: Int, maximumRunning: Int) async throws {
        let yaml = Self.compose(replicas: 4, update: "{parallelism: \(parallelism), order: \(order), monitor: 200ms}")
        try await StackHarness.with(yaml) { harness in
            try await harness.stack.update("web", UpdateRequest(environment: ["COLOUR": "red"]))
            var ready = 4
            var running = 4
            let deadline = ContinuousClock.now + .seconds(30)
            while await harness.stack.runtime("web")?.update?.state != .completed {
                guard ContinuousClock.now < deadline else {
                    Issue.record("the update did not complete in 30 s")
                    return
                }
                let tasks = await harness.stack.replicas
                ready = min(ready, tasks.filter(\.isReady).count)
                running = max(running, tasks.filter { $0.state == .running }.count)
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(ready == minimumReady)
            #expect(running == maximumRunning)
            #expect(await harness.tasks("web").allSatisfy { $0.specVersion == 2 && $0.isReady })
        }
    }

    /// A replica that listens on its published port itself cannot have a second task beside it (there is no
    /// routing mesh): its start-first update runs stop-first and the new task gets the same port.
    @Test func aPublishedPortTurnsStartFirstIntoStopFirst() async throws {
        let yaml = """
            services:
              web:
                x-switchboard: {command: [sh, -c, "exec sleep 1000"]}
                ports: ["$BASE:8080"]
                healthcheck: {test: ["CMD", "true"], interval: 1s, start_interval: 50ms, start_period: 5s}
                stop_grace_period: 1s
                deploy: {update_config: {order: start-first, monitor: 200ms}}
            """
        try await StackHarness.with(yaml) { harness in
            let old = try #require(await harness.tasks("web").first)
            #expect(old.port == harness.basePort)
            try await harness.stack.update("web", UpdateRequest(environment: ["COLOUR": "red"]))
            var running = 1
            let deadline = ContinuousClock.now + .seconds(30)
            while await harness.stack.runtime("web")?.update?.state != .completed, ContinuousClock.now < deadline {
                running = max(running, await harness.stack.replicas.filter { $0.state == .running }.count)
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(await harness.stack.runtime("web")?.update?.state == .completed)
            #expect(running == 1)
            let new = try #require(await harness.tasks("web").first)
            #expect(new.id != old.id)
            #expect(new.port == harness.basePort)
        }
    }

    @Test func updateReplacesReplicasOnlyWhenTheDefinitionChangedOrIsForced() async throws {
        let yaml = Self.compose(replicas: 2, update: "{parallelism: 2, order: start-first, monitor: 300ms}")
            .replacingOccurrences(of: "command: [sh, -c,", with: "command: [$DIR/sh, -c,")
        let directory = TestEnvironment.temporaryDirectory("switchboard-binary")
        try FileManager.default.copyItem(atPath: URL(fileURLWithPath: "/bin/sh").resolvingSymlinksInPath().path, toPath: directory.appendingPathComponent("sh").path)
        try await StackHarness.with(yaml.replacingOccurrences(of: "$DIR/sh", with: directory.appendingPathComponent("sh").path)) { harness in
            let first = await harness.tasks("web").map(\.id)
            #expect(try await harness.stack.update("web", UpdateRequest()) == false)
            #expect(await harness.stack.runtime("web")?.update == nil)
            #expect(await harness.tasks("web").map(\.id) == first)

            // A rebuild: a new file at the program's path.
            let binary = directory.appendingPathComponent("sh").path
            try FileManager.default.removeItem(atPath: binary)
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: "/bin/sh").resolvingSymlinksInPath().path, toPath: binary)
            #expect(try await harness.stack.update("web", UpdateRequest()) == true)
            try await waitForState(harness, .completed)
            let second = await harness.tasks("web").map(\.id)
            #expect(Set(second).isDisjoint(with: first))

            // The compose file changed: its environment is the new definition.
            try harness.rewrite(Self.compose(replicas: 2, update: "{parallelism: 2, order: start-first, monitor: 300ms}")
                .replacingOccurrences(of: "command: [sh, -c,", with: "command: [\(binary), -c,")
                .replacingOccurrences(of: "{MODE: good}", with: "{MODE: good, COLOUR: blue}"))
            #expect(try await harness.stack.update("web", UpdateRequest()) == true)
            try await waitForState(harness, .completed)
            #expect(await harness.tasks("web").allSatisfy { $0.definition.environment["COLOUR"] == "blue" })

            // --force replaces the replicas with the same definition.
            let third = await harness.tasks("web").map(\.id)
            #expect(try await harness.stack.update("web", UpdateRequest(force: true)) == true)
            try await waitForState(harness, .completed)
            #expect(Set(await harness.tasks("web").map(\.id)).isDisjoint(with: third))
            #expect(await harness.stack.runtime("web")?.version == 4)
        }
    }
}
