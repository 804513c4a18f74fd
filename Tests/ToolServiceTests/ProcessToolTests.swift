import Foundation
import SwitchboardCore
import Testing

@testable import ToolService

/// Commands run to completion and background processes.
struct ProcessToolTests {
    @Test func executeCommandRunsArgvWithCwdEnvAndStdin() async throws {
        let harness = try ToolHarness()
        try harness.write("sub/file.txt", "x")
        let listing = await harness.call("execute_command", ["command": "ls", "args": ["-1"], "cwd": "sub"])
        #expect(!listing.isError)
        #expect(listing.structuredContent?["stdout"] == "file.txt\n")
        #expect(listing.structuredContent?["exit_code"] == 0)
        let line = await harness.call("execute_command", ["command": "echo 'two words' plain"])
        #expect(line.structuredContent?["stdout"] == "two words plain\n")
        let stdin = await harness.call("execute_command", ["command": "sort", "stdin": "b\na\n"])
        #expect(stdin.structuredContent?["stdout"] == "a\nb\n")
        let env = await harness.call("execute_command", ["command": "env", "env": ["GREETING": "hello"]])
        let printed = env.structuredContent?["stdout"]?.stringValue ?? ""
        #expect(printed.contains("GREETING=hello"))
        #expect(!printed.contains("SWITCHBOARD_SERVICE_SECRET"), "the service's environment leaked into a command")
        #expect(printed.contains("PATH=/usr/local/sbin:"))
        let failing = await harness.call("execute_command", ["command": "ls", "args": ["/nonexistent-dir"]])
        #expect(!failing.isError, "a non-zero exit is a result, not a tool error")
        #expect(failing.structuredContent?["exit_code"] == 2)
        #expect(ToolHarness.text(failing).contains("[stderr]"))
        #expect(ToolHarness.text(failing).contains("exit code 2"))
        await harness.close()
    }

    @Test func limitsAreVisibleInResultsMetricsAndTheAuditLog() async throws {
        let harness = try ToolHarness(policy: ["limits": ["memory": "256MiB", "processes": 64, "cpu_time": "30s", "output": "1MiB", "file_size": "8MiB"]])
        let result = await harness.call("execute_command", ["command": "true"])
        let limits = try #require(ToolHarness.meta(result, "switchboard/execution")?["limits"])
        #expect(limits["memory_bytes"] == 268_435_456)
        #expect(limits["processes"] == 64)
        #expect(limits["cpu_seconds"] == 30)
        #expect(limits["output_bytes"] == 1_048_576)
        #expect(limits["file_size_bytes"] == 8_388_608)
        #expect(limits["capabilities"] == "dropped")
        #expect(limits["memory_enforced_by"]?.stringValue == (CgroupManager.shared.hasMemoryController ? CgroupManager.shared.mechanism : "rlimit (address space)"))
        let isolation = try #require(ToolHarness.meta(result, "switchboard/isolation"))
        #expect(isolation["landlock"] == (Landlock.abi > 0 ? "enforced" : "unavailable"))
        let timeout = await harness.call("execute_command", ["command": "sleep", "args": ["5"], "timeout_ms": 200])
        #expect(timeout.structuredContent?["terminated_by"] == "timeout")
        let records = try harness.auditRecords()
        #expect(records.count == 2)
        #expect(records[0]["execution"]?["limits"]?["processes"] == 64)
        #expect(records[0]["exit_status"] == ["code": 0])
        #expect(records[1]["execution"]?["terminated_by"] == "timeout")
        #expect(records[1]["exit_status"]?["signal"] != nil)
        #expect(harness.metricsText.contains(#"switchboard_tool_limit_hits_total{tool="execute_command",limit="timeout"} 1"#))
        await harness.close()
    }

    @Test func startReadSendAndTerminateABackgroundProcess() async throws {
        let harness = try ToolHarness()
        let script = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    print('echo:' + line.strip(), flush=True)\nprint('bye', flush=True)"
        let started = await harness.call("start_process", ["command": "python3", "args": ["-u", "-c", .string(script)], "wait_ms": 3000])
        #expect(!started.isError, "\(ToolHarness.text(started))")
        let pid = try #require(started.structuredContent?["pid"]?.intValue)
        #expect(started.structuredContent?["running"] == true)
        #expect(started.structuredContent?["lines"] == ["ready"])
        let answer = await harness.call("send_input", ["pid": .int(pid), "input": "hello", "wait_ms": 3000])
        #expect(answer.structuredContent?["lines"] == ["echo:hello"], "\(ToolHarness.text(answer))")
        let listed = await harness.call("list_processes")
        #expect(listed.structuredContent?["processes"]?.arrayValue?.contains { $0["pid"]?.intValue == pid && $0["running"] == true } == true)
        #expect(harness.metricsText.contains("switchboard_tool_processes_running 1"))
        let other = await harness.call("read_process_output", ["pid": .int(pid)], principal: "mallory")
        #expect(other.isError, "another principal read the process")
        let closed = await harness.call("send_input", ["pid": .int(pid), "input": "last", "close_stdin": true, "wait_ms": 3000])
        #expect(closed.structuredContent?["lines"]?.arrayValue?.contains("echo:last") == true)
        var final = await harness.call("read_process_output", ["pid": .int(pid), "offset": -2, "wait_ms": 0])
        for _ in 0..<100 where final.structuredContent?["running"] == true {
            try await Task.sleep(for: .milliseconds(50))
            final = await harness.call("read_process_output", ["pid": .int(pid), "offset": -2])
        }
        #expect(final.structuredContent?["running"] == false)
        #expect(final.structuredContent?["exit_code"] == 0)
        // The gauge follows the session's end (set right after it is recorded).
        for _ in 0..<50 where !harness.metricsText.contains("switchboard_tool_processes_running 0") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(harness.metricsText.contains("switchboard_tool_processes_running 0"))
        #expect(final.structuredContent?["lines"] == ["echo:last", "bye"])
        let everything = await harness.call("read_process_output", ["pid": .int(pid), "offset": 1, "length": 2])
        #expect(everything.structuredContent?["lines"] == ["echo:hello", "echo:last"])
        await harness.close()
    }

    @Test func workLongerThanARequestIsStartedThenPolled() async throws {
        let harness = try ToolHarness()
        let marker = "poll-\(UUID().uuidString.prefix(6))"
        let script = "import time  # \(marker)\nfor i in range(3):\n    print('step', i, flush=True)\n    time.sleep(0.3)"
        let started = await harness.call("start_process", ["command": "python3", "args": ["-c", .string(script)], "wait_ms": 0])
        let pid = try #require(started.structuredContent?["pid"]?.intValue)
        var seen: [String] = []
        for _ in 0..<50 {
            let read = await harness.call("read_process_output", ["pid": .int(pid), "wait_ms": 1000])
            seen += read.structuredContent?["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if read.structuredContent?["running"] == false { break }
        }
        #expect(seen == ["step 0", "step 1", "step 2"])
        #expect(!ToolHarness.processRunning(withMarker: marker))
        await harness.close()
    }

    @Test func terminateStopsTheProcessAndItsChildren() async throws {
        let harness = try ToolHarness(policy: ["commands": ["shell": true]])
        let marker = "57.\(Int.random(in: 100_000...999_999))"
        let started = await harness.call("start_process", ["command": .string("sleep \(marker) & sleep \(marker)"), "shell": true, "wait_ms": 100])
        let pid = try #require(started.structuredContent?["pid"]?.intValue)
        #expect(ToolHarness.processRunning(withMarker: marker))
        let stopped = await harness.call("terminate_process", ["pid": .int(pid), "grace_ms": 500])
        #expect(stopped.structuredContent?["running"] == false)
        #expect(stopped.structuredContent?["signal"] == "SIGTERM")
        #expect(stopped.structuredContent?["terminated_by"] == "terminated")
        #expect(!ToolHarness.processRunning(withMarker: marker))
        await harness.close()
    }

    @Test func sessionsHaveALifetimeAndACap() async throws {
        let harness = try ToolHarness(policy: ["limits": ["sessions": 1, "session_lifetime": "1s"]])
        let first = await harness.call("start_process", ["command": "sleep", "args": ["30"], "wait_ms": 0])
        let pid = try #require(first.structuredContent?["pid"]?.intValue)
        let second = await harness.call("start_process", ["command": "sleep", "args": ["30"], "wait_ms": 0])
        #expect(ToolHarness.rule(second) == "limits.sessions")
        let tooLong = await harness.call("start_process", ["command": "sleep", "args": ["1"], "timeout_ms": 60000])
        #expect(ToolHarness.rule(tooLong) == "limits.session_lifetime")
        var state = await harness.call("read_process_output", ["pid": .int(pid), "wait_ms": 3000])
        for _ in 0..<60 where state.structuredContent?["running"] == true {
            try await Task.sleep(for: .milliseconds(100))
            state = await harness.call("read_process_output", ["pid": .int(pid)])
        }
        #expect(state.structuredContent?["running"] == false)
        #expect(state.structuredContent?["terminated_by"] == "lifetime")
        await harness.close()
    }

    @Test func slowCallsDoNotBlockOthers() async throws {
        let harness = try ToolHarness()
        try harness.write("tree/a.txt", "x")
        // A command and a search that keep running while quick calls come and go.
        let running = Flag()
        let slow = Task {
            let result = await harness.call("execute_command", ["command": "sleep", "args": ["60"]])
            running.clear()
            return result
        }
        let started = await harness.call("start_process", ["command": "sleep", "args": ["60"], "wait_ms": 0])
        #expect(!started.isError)
        for _ in 0..<20 {
            let result = await harness.call("get_file_info", ["path": "tree/a.txt"])
            #expect(!result.isError)
        }
        let listing = await harness.call("list_processes")
        #expect(listing.structuredContent?["processes"]?.arrayValue?.first?["running"] == true)
        #expect(running.isSet, "the quick calls waited for the slow one")
        slow.cancel()
        let cancelled = await slow.value
        #expect(cancelled.structuredContent?["terminated_by"] == "cancelled")
        await harness.close()
    }

    @Test func checkCommandExistsReportsPathAndPolicy() async throws {
        let harness = try ToolHarness()
        let git = await harness.call("check_command_exists", ["command": "git"])
        #expect(git.structuredContent?["exists"] == true)
        #expect(git.structuredContent?["allowed"] == true)
        let dd = await harness.call("check_command_exists", ["command": "dd"])
        #expect(dd.structuredContent?["exists"] == true)
        #expect(dd.structuredContent?["allowed"] == false)
        #expect(dd.structuredContent?["rule"] == "command.denied")
        let none = await harness.call("check_command_exists", ["command": "no-such-program-42"])
        #expect(none.structuredContent?["exists"] == false)
        await harness.close()
    }
}
