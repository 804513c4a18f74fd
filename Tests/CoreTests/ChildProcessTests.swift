import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

struct ChildProcessTests {
    @Test func capturesOutputAndExitStatus() async throws {
        let result = try await CommandRunner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
        #expect(result.status == .exited(3))
    }

    @Test func reportsWhyAProgramCannotStart() async {
        await #expect {
            try await ChildProcess.spawn(ProcessLaunch(executable: "/nonexistent/program"))
        } throws: { error in
            "\(error)" == "cannot start /nonexistent/program: exec failed: No such file or directory"
        }
        var launch = ProcessLaunch(executable: "/bin/true")
        launch.workingDirectory = "/nonexistent-directory"
        await #expect {
            try await ChildProcess.spawn(launch)
        } throws: { error in
            "\(error)".contains("chdir failed")
        }
    }

    @Test func stopEndsTheWholeProcessGroupIncludingGrandchildren() async throws {
        let directory = TestEnvironment.temporaryDirectory()
        let pidFile = directory.appendingPathComponent("grandchild.pid").path
        // The shell ignores SIGTERM and starts a grandchild that records its pid.
        var launch = ProcessLaunch(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; sleep 300 & echo $! > \(pidFile); wait"])
        launch.stdout = .discard
        let child = try await ChildProcess.spawn(launch)
        var grandchild: pid_t?
        for _ in 0..<100 where grandchild == nil {
            try await Task.sleep(for: .milliseconds(20))
            grandchild = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let grandchildPID = try #require(grandchild)
        let status = await child.stop(signal: SIGTERM, grace: .milliseconds(300))
        #expect(status == .signaled(SIGKILL))
        try await Task.sleep(for: .milliseconds(100))
        #expect(!ProcessProbe.isRunning(grandchildPID), "grandchild \(grandchildPID) survived")
    }

    @Test func appliesResourceLimitsBeforeExec() async throws {
        var launch = ProcessLaunch(executable: "/bin/sh", arguments: ["-c", "ulimit -n"])
        launch.stdout = .pipe
        launch.resourceLimits = [(resource: Int32(RLIMIT_NOFILE.rawValue), value: 77)]
        let child = try await ChildProcess.spawn(launch)
        var output: [UInt8] = []
        for await chunk in child.stdout! { output += chunk }
        #expect(await child.wait() == .exited(0))
        #expect(String(decoding: output, as: UTF8.self) == "77\n")
    }

    @Test func splitsLinesAcrossChunks() {
        var splitter = LineSplitter(maxLine: 8)
        #expect(splitter.feed(Array("ab\ncd".utf8)) == ["ab"])
        #expect(splitter.feed(Array("ef\n".utf8)) == ["cdef"])
        #expect(splitter.feed(Array("0123456789".utf8)) == ["01234567"])
        #expect(splitter.flush() == "89")
    }
}
