import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import SwitchboardCore
import UnixSignals

/// One supervisor process: load the compose file, start the stack, serve the control API,
/// and stop everything gracefully on SIGINT/SIGTERM or `switchboard down`.
struct SupervisorRun {
    let composePath: String
    let state: StateDirectory
    let controlPort: Int
    let foreground: Bool
    let environment: [String: String]

    /// Runs until stopped; returns the process exit code.
    func run() async -> Int32 {
        let output = Output()
        do {
            try state.ensure()
            if let other = state.runningSupervisor(), other != getpid() {
                throw StackError("already running (pid \(other)); run 'switchboard down' first")
            }
            let secret = try state.serviceSecret()
            let apiKey = try state.apiKey(environment: environment)
            var variables = environment
            variables["SWITCHBOARD_SERVICE_SECRET"] = secret
            if (variables["SWITCHBOARD_API_KEYS"] ?? "").isEmpty {
                variables["SWITCHBOARD_API_KEYS"] = "local:\(Digest.hex(Digest.sha256(Array(apiKey.key.utf8))))"
            }
            variables["SWITCHBOARD_SUPERVISOR_URL"] = "http://127.0.0.1:\(controlPort)"
            variables["SWITCHBOARD_STATE_DIR"] = state.path
            variables["SWITCHBOARD_COMPOSE_DIR"] = URL(fileURLWithPath: composePath).deletingLastPathComponent().path
            let project: ComposeProject
            do {
                project = try ComposeLoader.load(path: composePath, environment: variables)
            } catch {
                throw StackError(error.description)
            }
            guard PortCheck.isFree(controlPort) else {
                throw StackError("control port \(controlPort) is already in use (set SWITCHBOARD_CONTROL_PORT to another port)")
            }
            let width = project.services.map { $0.name.count + 3 }.max() ?? 10
            var logger = Logger(label: "switchboard")
            logger.logLevel = Logger.Level(rawValue: environment["SWITCHBOARD_LOG_LEVEL"] ?? "info") ?? .info
            let control = controlEnvironment(secret: secret, logger: logger)
            var settings = StackSettings(
                binDirectory: Self.binDirectory, stateDirectory: state.path, workingDirectory: FileManager.default.currentDirectoryPath,
                serviceSecret: secret, baseEnvironment: Self.baseEnvironment(environment), console: foreground ? Console(nameWidth: width) : nil
            )
            settings.composePath = composePath
            settings.composeVariables = variables
            settings.cgroups = await BlockingIO.run { CgroupHierarchy.detect() }
            settings.metrics = SupervisorMetrics(registry: control.metrics.registry)
            if let learn = project.services.first(where: { $0.local?.command.first == "LearnService" }), let port = learn.localPort(slot: 1) {
                settings.forecasts = LearnServiceForecasts(baseURL: "http://127.0.0.1:\(port)", secret: secret)
                settings.resources = ResourceReporter(baseURL: "http://127.0.0.1:\(port)", secret: secret, logger: logger)
            }
            let stack = Stack(project: project, settings: settings, logger: logger)
            do {
                try await stack.prepare()
            } catch {
                settings.cgroups.remove()
                throw error
            }
            state.writePid()
            defer { state.removePid() }
            return await serve(stack: stack, control: control, apiKeySource: apiKey.source, output: output)
        } catch {
            output.error("\(error)")
            return 1
        }
    }

    /// The control API's service environment; its HTTP server logs only problems, the supervisor speaks for itself.
    private func controlEnvironment(secret: String, logger: Logger) -> ServiceEnvironment {
        let configuration = try! ServiceConfiguration(
            keys: ConfigKey.common(port: controlPort), environment: ["SWITCHBOARD_SERVICE_SECRET": secret, "SWITCHBOARD_PORT": String(controlPort)], arguments: []
        )
        var quiet = logger
        quiet.logLevel = max(.warning, logger.logLevel)
        return ServiceEnvironment(service: "supervisor", configuration: configuration, logger: quiet)
    }

    private func serve(stack: Stack, control environment: ServiceEnvironment, apiKeySource: String, output: Output) async -> Int32 {
        let stop = StopSignal()
        let router = environment.makeRouter(checks: [])
        ControlController(stack: stack, requestShutdown: { stop.fire() }).addRoutes(to: environment.internalAPI(on: router))
        let group = ServiceGroup(configuration: .init(services: [environment.makeApplication(router: router)], logger: environment.logger))
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let signalWatcher = Task {
            for await _ in signals { stop.fire() }
        }
        defer { signalWatcher.cancel() }
        return await withTaskGroup(of: Void.self) { tasks -> Int32 in
            tasks.addTask { try? await group.run() }
            // Start-up races a stop request: Ctrl-C during start-up stops what has started.
            let outcome = await withTaskGroup(of: Result<Void, any Error>?.self) { race in
                race.addTask {
                    do {
                        try await stack.start()
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
                race.addTask {
                    await stop.wait()
                    return nil
                }
                let first = await race.next()!
                race.cancelAll()
                return first ?? .failure(StackError("interrupted during start-up"))
            }
            var code: Int32 = 0
            switch outcome {
            case .success:
                output.summary(await ControlController.status(stack), apiKeySource: apiKeySource, controlPort: controlPort)
                state.writeGroups(await stack.processGroups)
                await stop.wait()
                output.note("stopping")
            case .failure(let error):
                output.error("\(error)")
                code = 1
            }
            await stack.stop()
            state.writeGroups([])
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            if code == 0 { output.note("stopped") }
            return code
        }
    }

    /// The directory holding `switchboard` and the service binaries.
    static var binDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// What replicas inherit from the supervisor's environment: the basics, not the caller's whole shell
    /// (`SWIFT_BACKTRACE` so that how a crashing replica reports itself can be set for the whole suite).
    static func baseEnvironment(_ environment: [String: String]) -> [String: String] {
        let kept = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "SWITCHBOARD_LOG_LEVEL", "SWIFT_BACKTRACE"]
        return environment.filter { kept.contains($0.key) }
    }
}

/// The supervisor's own terminal lines.
struct Output: Sendable {
    func note(_ text: String) { print("switchboard: \(text)") }

    func error(_ text: String) {
        StandardStream.error.write("switchboard: \(text)\n")
    }

    func summary(_ status: JSONValue, apiKeySource: String, controlPort: Int) {
        var lines = ["switchboard: up — \(status["replicas"]?.arrayValue?.count ?? 0) replicas healthy"]
        for endpoint in status["endpoints"]?.arrayValue ?? [] {
            lines.append("  \(endpoint["service"]?.stringValue ?? ""): \(endpoint["url"]?.stringValue ?? "")")
        }
        lines.append("  API key: \(apiKeySource) (send it as 'Authorization: Bearer <key>')")
        lines.append("  control: http://127.0.0.1:\(controlPort) ('switchboard ps', 'switchboard down')")
        print(lines.joined(separator: "\n"))
        fflush(nil)
    }
}

/// A one-way latch: `fire()` once releases every current and future `wait()`.
final class StopSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [Int: CheckedContinuation<Void, Never>], next: Int)>((false, [:], 0))

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once fired, or when the waiting task is cancelled.
    func wait() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
