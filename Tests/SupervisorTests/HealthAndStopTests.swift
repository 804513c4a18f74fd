import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// Docker's healthcheck states and defaults, and `stop_signal` / `stop_grace_period` on the whole process
/// group, with real replicas.
@Suite(.serialized)
struct HealthAndStopTests {
    @Test func healthcheckDefaultsAreDockers() throws {
        let yaml = """
            services:
              plain:
                healthcheck: {test: ["CMD", "true"]}
              zero:
                healthcheck: {test: "exit 0", retries: 0}
              disabled:
                healthcheck: {test: ["CMD", "true"], disable: true}
              none:
                healthcheck: {test: ["NONE"]}
            """
        let project = try ComposeLoader.parse(yaml, variables: [:])
        // moby: interval 30 s, timeout 30 s, retries 3, start_period 0, start_interval 5 s.
        let plain = try #require(project["plain"]?.healthcheck)
        #expect(plain == .init(test: .exec(["true"]), interval: .seconds(30), timeout: .seconds(30), retries: 3, startPeriod: .zero, startInterval: .seconds(5)))
        // retries 0 is "unset" in the engine, so the default 3 applies; a string test runs through the shell.
        #expect(project["zero"]?.healthcheck?.retries == 3)
        #expect(project["zero"]?.healthcheck?.test == .shell("exit 0"))
        #expect(project["disabled"]?.healthcheck == nil)
        #expect(project["none"]?.healthcheck == nil)
    }

    /// healthy → unhealthy after `retries` failures (out of the routing list, replaced as Swarm replaces a
    /// failed task); the replacement stays `starting` while it fails inside `start_period`, turns unhealthy
    /// once failures count, and is routed to again once a probe passes.
    @Test func healthMovesBetweenStartingHealthyAndUnhealthy() async throws {
        let flags = TestEnvironment.temporaryDirectory("switchboard-health")
        let ok = flags.appendingPathComponent("ok").path
        #expect(FileManager.default.createFile(atPath: ok, contents: nil))
        let yaml = """
            services:
              web:
                x-switchboard: {command: [sh, -c, "exec sleep 1000"], port: $BASE}
                healthcheck: {test: ["CMD", "test", "-f", "\(ok)"], interval: 100ms, start_interval: 50ms, start_period: 1500ms, retries: 2, timeout: 2s}
                stop_grace_period: 1s
                deploy:
                  restart_policy: {condition: any, delay: 100ms}
            """
        try await StackHarness.with(yaml) { harness in
            let first = try #require(await harness.tasks("web").first)
            #expect(first.health == .healthy)
            #expect(harness.stack.board.current("web").endpoints.map(\.task) == [first.id])

            try FileManager.default.removeItem(atPath: ok)
            // Its replacement appears once the unhealthy task is stopped.
            try await harness.waitUntil("a replacement of the unhealthy task") { stack in
                await stack.replicas.contains { $0.id != first.id && $0.state == .running }
            }
            #expect(harness.stack.board.current("web").endpoints.isEmpty)
            let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/web.1.log"), encoding: .utf8)
            #expect(log.contains("health healthy → unhealthy"))
            #expect(log.contains("stopping unhealthy replica"))

            // Inside start_period failures do not count: still starting after several probes.
            try await Task.sleep(for: .milliseconds(500))
            let second = try #require(await harness.tasks("web").first { $0.id != first.id })
            #expect(second.health == .starting)
            #expect(second.failingStreak == 0)
            #expect(harness.stack.board.current("web").endpoints.isEmpty)

            // After start_period they do: unhealthy after two failures, and replaced again.
            try await harness.waitUntil("the second task to turn unhealthy", timeout: .seconds(10)) { stack in
                await !stack.replicas.contains { $0.id == second.id && $0.state == .running }
            }
            let later = try String(contentsOf: harness.directory.appendingPathComponent("logs/web.1.log"), encoding: .utf8)
            #expect(later.contains("health starting → unhealthy"))

            #expect(FileManager.default.createFile(atPath: ok, contents: nil))
            try await harness.waitUntil("a healthy task in the routing list") { stack in
                let tasks = await stack.replicas.filter { $0.state == .running && $0.health == .healthy }
                return tasks.count == 1 && stack.board.current("web").endpoints.map(\.task) == tasks.map(\.id)
            }
            #expect(await harness.stack.replicaReports.first?["restarts"]?.intValue ?? 0 >= 2)
        }
    }

    /// `stop_signal` reaches every process of the replica's group (the child traps it too); a replica that
    /// ignores it is SIGKILLed after `stop_grace_period`.
    @Test func stopSignalReachesTheProcessGroupAndGraceEndsInSIGKILL() async throws {
        let scripts = TestEnvironment.temporaryDirectory("switchboard-stop")
        let script = scripts.appendingPathComponent("graceful.sh").path
        let out = scripts.appendingPathComponent("signals").path
        try """
            #!/bin/sh
            out="$1"
            sh -c 'trap "echo child >> \\"$0\\"; exit 0" USR1; touch "$0.child"; while :; do sleep 0.05; done' "$out" &
            child=$!
            trap 'echo parent >> "$out"; wait $child; exit 0' USR1
            touch "$out.parent"
            while :; do sleep 0.05; done
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let yaml = """
            services:
              graceful:
                x-switchboard: {command: [sh, "\(script)", "\(out)"]}
                stop_signal: SIGUSR1
                stop_grace_period: 20s
              stubborn:
                x-switchboard: {command: [sh, -c, "trap '' USR1; sleep 1000 & wait"]}
                stop_signal: SIGUSR1
                stop_grace_period: 300ms
            """
        try await StackHarness.with(yaml) { harness in
            try await harness.waitUntil("both traps set") { _ in
                FileManager.default.fileExists(atPath: out + ".parent") && FileManager.default.fileExists(atPath: out + ".child")
            }
            let graceful = try #require(await harness.tasks("graceful").first)
            await harness.stack.stopTask(graceful.id, drain: false)
            let signals = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").sorted()
            #expect(signals == ["child", "parent"])
            #expect(graceful.process?.status == .exited(0))

            let stubborn = try #require(await harness.tasks("stubborn").first)
            await harness.stack.stopTask(stubborn.id, drain: false)
            #expect(stubborn.process?.status == .signaled(SIGKILL))
            let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/stubborn.1.log"), encoding: .utf8)
            #expect(log.contains("stopped task \(stubborn.id) (killed by signal 9 (SIGKILL))"))
            try await harness.waitUntil("both tasks gone") { stack in await stack.replicas.isEmpty }
        }
    }
}
