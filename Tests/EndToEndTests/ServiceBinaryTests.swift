import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// Each service binary on its own: configuration errors, busy ports, healthcheck, graceful stop.
struct ServiceBinaryTests {
    func binary(_ name: String) -> String { TestEnvironment.binDirectory.appendingPathComponent(name).path }

    @Test(arguments: ["Gateway", "ToolService", "LearnService", "MetricsService"])
    func aBadConfigValueExitsTwoNamingTheKey(program: String) async throws {
        let result = try await CommandRunner.run(binary(program), ["--port", "70000"], timeout: .seconds(30))
        #expect(result.code == 2)
        #expect(result.stderr == "\(program): invalid value '70000' for SWITCHBOARD_PORT (--port): expected an integer from 1 to 65535\n")
    }

    @Test func aBusyPortIsOneClearLine() async throws {
        let port = TestEnvironment.freePorts(1)
        let blocker = try TCPBlocker(port: port)
        defer { blocker.close() }
        let result = try await CommandRunner.run(binary("LearnService"), ["--port", String(port)], timeout: .seconds(30))
        #expect(result.code == 1)
        #expect(result.stderr.hasSuffix("LearnService: cannot listen on 127.0.0.1:\(port): address already in use\n"), "\(result.stderr)")
    }

    /// A healthcheck whose reader went away (the supervisor gave up on it) still exits 1: writing "unhealthy" to a
    /// closed pipe loses the line instead of trapping (`FileHandle.write` did, leaving a stuck backtracer behind).
    @Test(arguments: ["Gateway", "ToolService"])
    func aHealthcheckWritingToAClosedPipeExitsOneInsteadOfCrashing(program: String) async throws {
        let port = TestEnvironment.freePorts(1)
        // SIGPIPE ignored, as in a child of the supervisor; the pipe's reader exits at once.
        let script = "trap '' PIPE; \"$0\" healthcheck --port \(port) 2>&1 >/dev/null | true; exit ${PIPESTATUS[0]}"
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let result = try await CommandRunner.run("/bin/bash", ["-c", script, binary(program)], environment: environment, timeout: .seconds(30))
        #expect(result.code == 1, "\(program) healthcheck ended with \(result.code): \(result.stderr)")
    }

    @Test func healthcheckProbesTheServiceAndSIGTERMStopsItCleanly() async throws {
        let port = TestEnvironment.freePorts(1)
        let down = try await CommandRunner.run(binary("ToolService"), ["healthcheck", "--port", String(port)], timeout: .seconds(30))
        #expect(down.code == 1)
        #expect(down.stderr.hasPrefix("unhealthy: http://127.0.0.1:\(port)/health"))

        var launch = ProcessLaunch(executable: binary("ToolService"), arguments: ["--port", String(port)])
        launch.stderr = .pipe
        let service = try await ChildProcess.spawn(launch)
        async let logs = collect(service.stderr)
        try await LiveService.waitForListener(port: port)
        let up = try await CommandRunner.run(binary("ToolService"), ["healthcheck", "--port", String(port)], timeout: .seconds(30))
        #expect(up.code == 0, "\(up.stderr)")
        service.signal(SIGTERM)
        #expect(await service.wait() == .exited(0))
        let lines = await logs
        #expect(lines.contains(#""msg":"stopped""#))
    }

    @Test func helpListsEveryKey() async throws {
        let result = try await CommandRunner.run(binary("Gateway"), ["--help"], timeout: .seconds(30))
        #expect(result.code == 0)
        for key in ConfigKey.gateway { #expect(result.stdout.contains(key.name)) }
    }

    private func collect(_ stream: AsyncStream<[UInt8]>?) async -> String {
        var bytes: [UInt8] = []
        for await chunk in stream! { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }
}
