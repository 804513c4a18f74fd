import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard up [-d]`: start every service and wait until all are healthy.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start the stack; with -d, return once it is healthy and leave it running."
    )

    @Flag(name: [.short, .customLong("detach")], help: "Run in the background; return once every replica is healthy.")
    var detach = false

    @Flag(name: .customLong("daemonized"), help: .hidden)
    var daemonized = false

    @Option(name: .customLong("timeout"), help: "How long -d waits for the stack to become healthy, in seconds.")
    var timeout = 180

    @OptionGroup var options: StackOptions

    func run() async throws {
        let port = try options.controlPort()
        if detach {
            throw ExitCode(await Daemon.start(options: options, controlPort: port, timeout: .seconds(timeout)))
        }
        let code = await SupervisorRun(
            composePath: options.composePath, state: options.state, controlPort: port, foreground: !daemonized, environment: options.environment
        ).run()
        throw ExitCode(code)
    }
}

/// Starting the supervisor in the background for `up -d`.
enum Daemon {
    static func start(options: StackOptions, controlPort: Int, timeout: Duration) async -> Int32 {
        let output = Output()
        let state = options.state
        do {
            try state.ensure()
        } catch {
            output.error(error.description)
            return 1
        }
        if let pid = state.runningSupervisor() {
            output.error("already running (pid \(pid)); run 'switchboard down' first")
            return 1
        }
        _ = FileManager.default.createFile(atPath: state.logFile, contents: nil, attributes: [.posixPermissions: 0o600])
        var launch = ProcessLaunch(
            executable: SupervisorRun.binDirectory + "/switchboard",
            arguments: ["up", "--daemonized", "--file", options.composePath, "--state-dir", state.path],
            environment: options.environment
        )
        launch.workingDirectory = FileManager.default.currentDirectoryPath
        launch.newSession = true
        launch.parentDeathSignal = nil
        launch.stdout = .file(state.logFile)
        launch.stderr = .file(state.logFile)
        let daemon: ChildProcess
        do {
            daemon = try await ChildProcess.spawn(launch)
        } catch {
            output.error(error.description)
            return 1
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if daemon.status != nil {
                output.error(lastError(in: state.logFile) ?? "the supervisor exited during start-up; see \(state.logFile)")
                return 1
            }
            if PortCheck.accepts(controlPort), let client = try? options.controlClient(), let status = try? await client.status(),
                status["phase"]?.stringValue == "running"
            {
                output.summary(status, apiKeySource: apiKeySource(options), controlPort: controlPort)
                return 0
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        output.error("the stack did not become healthy within \(Units.format(timeout)); stopping it (see \(state.logFile))")
        await daemon.stop(grace: .seconds(30))
        return 1
    }

    private static func apiKeySource(_ options: StackOptions) -> String {
        (options.environment["SWITCHBOARD_API_KEY"] ?? "").isEmpty ? options.state.apiKeyFile : "the SWITCHBOARD_API_KEY environment variable"
    }

    /// The daemon's own error line, if it wrote one.
    static func lastError(in file: String) -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").last(where: { $0.hasPrefix("switchboard: ") }).map { String($0.dropFirst("switchboard: ".count)) }
    }
}
