import Foundation
import SwitchboardCore

/// Runs a command to completion and captures what it printed.
public struct CommandResult: Sendable {
    public let status: ExitStatus
    public let stdout: String
    public let stderr: String
    public var code: Int32? {
        if case .exited(let code) = status { return code }
        return nil
    }
}

public enum CommandRunner {
    /// Runs `executable` with `arguments`, killing it after `timeout`.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> CommandResult {
        var launch = ProcessLaunch(executable: executable, arguments: arguments, environment: environment)
        launch.workingDirectory = directory
        launch.stdout = .pipe
        launch.stderr = .pipe
        launch.parentDeathSignal = nil
        let child = try await ChildProcess.spawn(launch)
        async let out = collect(child.stdout)
        async let err = collect(child.stderr)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            child.signal(SIGKILL)
        }
        let status = await child.wait()
        watchdog.cancel()
        return CommandResult(status: status, stdout: await out, stderr: await err)
    }

    private static func collect(_ stream: AsyncStream<[UInt8]>?) async -> String {
        guard let stream else { return "" }
        var bytes: [UInt8] = []
        for await chunk in stream { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }
}
