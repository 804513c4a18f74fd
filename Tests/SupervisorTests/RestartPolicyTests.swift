import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// Replicas that die are replaced as Swarm's restart policy says: real processes, real signals.
@Suite(.serialized)
struct RestartPolicyTests {
    @Test func aReplicaKilledWithSIGKILLIsRestartedUntilMaxAttempts() async throws {
        let yaml = """
            services:
              worker:
                x-switchboard: {command: [sh, -c, "exec sleep 1000"], port: $BASE}
                stop_grace_period: 1s
                deploy:
                  replicas: 1
                  restart_policy: {condition: on-failure, delay: 100ms, max_attempts: 2}
            """
        try await StackHarness.with(yaml) { harness in
            var pids: [pid_t] = []
            for attempt in 1...3 {
                let record = try #require(await harness.tasks("worker").first { $0.state == .running })
                let pid = try #require(record.process?.pid)
                #expect(!pids.contains(pid))
                pids.append(pid)
                kill(pid, SIGKILL)
                if attempt < 3 {
                    try await harness.waitUntil("restart \(attempt)") { stack in
                        await stack.replicas.contains { $0.state == .running && $0.process?.pid != pid }
                    }
                }
            }
            // The third death is past max_attempts: the task stays exited.
            try await harness.waitUntil("the last exit") { stack in
                await stack.replicas.first?.state == .exited
            }
            try await Task.sleep(for: .milliseconds(400))
            let replicas = await harness.stack.replicas
            #expect(replicas.count == 1)
            #expect(replicas.first?.state == .exited)
            #expect(replicas.first?.lastExit == .signaled(SIGKILL))
            #expect(await harness.stack.replicaReports.first?["restarts"] == 2)
            let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/worker.1.log"), encoding: .utf8)
            #expect(log.contains("[switchboard] exited (killed by signal 9 (SIGKILL))"))
            #expect(log.contains("[switchboard] restarting in 100ms (restart 2)"))
            #expect(log.contains("[switchboard] not restarting"))
        }
    }

    /// `max_attempts` counts the restarts inside `window` only: one restart per 3 s here.
    @Test func maxAttemptsCountsOnlyRestartsInsideTheWindow() async throws {
        let yaml = """
            services:
              worker:
                x-switchboard: {command: [sh, -c, "exec sleep 1000"]}
                stop_grace_period: 1s
                deploy:
                  restart_policy: {condition: any, delay: 100ms, max_attempts: 1, window: 3s}
            """
        try await StackHarness.with(yaml) { harness in
            func killRunning() async throws -> pid_t {
                var pid: pid_t = 0
                try await harness.waitUntil("a running task") { stack in
                    pid = await stack.replicas.first { $0.state == .running }?.process?.pid ?? 0
                    return pid != 0
                }
                kill(pid, SIGKILL)
                return pid
            }
            let first = try await killRunning()
            try await harness.waitUntil("the first restart") { stack in
                await stack.replicas.contains { $0.state == .running && $0.process?.pid != first }
            }
            // Past the window the first restart no longer counts: the next death is restarted too.
            try await Task.sleep(for: .milliseconds(3200))
            let second = try await killRunning()
            try await harness.waitUntil("the second restart") { stack in
                await stack.replicas.contains { $0.state == .running && $0.process?.pid != second }
            }
            // Inside the window of the second restart, a third death is not restarted.
            _ = try await killRunning()
            try await harness.waitUntil("the last exit") { stack in await stack.replicas.first?.state == .exited }
            try await Task.sleep(for: .milliseconds(400))
            #expect(await harness.stack.replicas.first?.state == .exited)
            #expect(await harness.stack.replicaReports.first?["restarts"] == 2)
        }
    }

    @Test func onFailureDoesNotRestartACleanExitAndNoneNeverRestarts() async throws {
        let yaml = """
            services:
              clean:
                x-switchboard: {command: [sh, -c, "sleep 1; exit 0"]}
                deploy: {restart_policy: {condition: on-failure, delay: 50ms}}
              never:
                x-switchboard: {command: [sh, -c, "sleep 1; exit 3"]}
                deploy: {restart_policy: {condition: none}}
              always:
                x-switchboard: {command: [sh, -c, "sleep 1; exit 0"]}
                deploy: {restart_policy: {condition: any, delay: 50ms}}
            """
        try await StackHarness.with(yaml) { harness in
            try await harness.waitUntil("a restart of 'always' and the others' exits") { stack in
                let reports = await stack.replicaReports
                return reports.contains { $0["service"] == "always" && ($0["restarts"]?.intValue ?? 0) >= 1 }
                    && reports.filter { ($0["service"] == "clean" || $0["service"] == "never") && $0["state"] == "exited" }.count == 2
            }
            let reports = await harness.stack.replicaReports
            #expect(reports.first { $0["service"] == "clean" }?["restarts"] == 0)
            #expect(reports.first { $0["service"] == "clean" }?["state"] == "exited")
            #expect(reports.first { $0["service"] == "never" }?["restarts"] == 0)
            #expect(reports.first { $0["service"] == "never" }?["last_exit"] == "exit code 3")
        }
    }

    /// A replica allocating past its memory limit is killed by the kernel (cgroups) and restarted.
    @Test(.enabled(if: MachineCgroups.memory.available, Comment(rawValue: MachineCgroups.memory.reason)))
    func aReplicaOverItsMemoryLimitIsOOMKilledAndRestarted() async throws {
        let yaml = """
            services:
              hog:
                x-switchboard:
                  command: [python3, -c, "import time\\ntime.sleep(1)\\nblocks = []\\nwhile True:\\n    blocks.append(bytearray(8 << 20))\\n    time.sleep(0.05)"]
                deploy:
                  resources: {limits: {memory: 32M}}
                  restart_policy: {condition: any, delay: 300ms}
            """
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-test-\(UUID().uuidString.prefix(8))")
        try await StackHarness.with(yaml, cgroups: hierarchy) { harness in
            let limits = await harness.stack.replicas.first?.limits ?? []
            #expect(limits.first { $0.limit == "memory" }?.enforced == true, "\(limits)")
            try await harness.waitUntil("an OOM kill and a restart") { stack in
                await stack.replicaReports.first?["restarts"]?.intValue ?? 0 >= 1
            }
            let log = try String(contentsOf: harness.directory.appendingPathComponent("logs/hog.1.log"), encoding: .utf8)
            #expect(log.contains("[switchboard] OOM-killed by the kernel (memory limit 32MiB)"))
            #expect(log.contains("[switchboard] exited (killed by signal 9 (SIGKILL))"))
            try await harness.waitUntil("the restarted replica") { stack in
                await stack.replicas.contains { $0.state == .running }
            }
        }
    }
}
