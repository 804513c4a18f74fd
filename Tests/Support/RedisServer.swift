import Foundation
import SwitchboardCore
import Synchronization

/// A real `redis-server` started by a test on a free port (and a unix socket) in a temporary directory,
/// with no persistence. `stop()` and `restart()` let tests take it away and bring it back on the same port.
public final class RedisServer: Sendable {
    public let port: Int
    public let directory: URL
    private let extraArguments: [String]
    private let process = Mutex<ChildProcess?>(nil)

    /// The installed `redis-server`, or nil (then the test reports it: `make test` installs it).
    public static var executable: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public var url: String { "redis://127.0.0.1:\(port)" }
    public var socketPath: String { directory.appendingPathComponent("redis.sock").path }

    private init(port: Int, directory: URL, extraArguments: [String]) {
        self.port = port
        self.directory = directory
        self.extraArguments = extraArguments
    }

    /// Starts a server; `arguments` are extra `redis-server` options such as `["--requirepass", "secret"]`.
    public static func start(_ arguments: [String] = []) async throws -> RedisServer {
        let server = RedisServer(port: TestEnvironment.freePorts(1), directory: TestEnvironment.temporaryDirectory("redis"), extraArguments: arguments)
        try await server.launch()
        return server
    }

    /// Runs `body` with a fresh server and always stops it afterwards.
    public static func with<Value: Sendable>(_ arguments: [String] = [], _ body: @Sendable (RedisServer) async throws -> Value) async throws -> Value {
        let server = try await start(arguments)
        do {
            let value = try await body(server)
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }

    private func launch() async throws {
        guard let executable = Self.executable else {
            throw LiveServiceError(message: "redis-server is not installed (apt-get install redis-server; `make test` does it)")
        }
        var launch = ProcessLaunch(
            executable: executable,
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
                "--unixsocket", socketPath, "--unixsocketperm", "700", "--enable-debug-command", "local", "--loglevel", "warning",
            ] + extraArguments
        )
        launch.workingDirectory = directory.path
        let child = try await ChildProcess.spawn(launch)
        process.withLock { $0 = child }
        do {
            try await LiveService.waitForListener(port: port)
        } catch {
            await stop()
            throw LiveServiceError(message: "redis-server did not start on port \(port) (\(child.status.map(\.description) ?? "still running"))")
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s); safe to call twice.
    public func stop() async {
        guard let child = process.withLock({ current -> ChildProcess? in
            defer { current = nil }
            return current
        }) else { return }
        child.signal(SIGCONT)
        _ = await child.stop(signal: SIGTERM, grace: .seconds(5))
    }

    /// Starts the server again on the same port (empty: it had no persistence).
    public func restart() async throws {
        await stop()
        try await launch()
    }

    /// Sends a signal to the server, e.g. SIGSTOP to make it hang and SIGCONT to resume it.
    public func signal(_ signal: Int32) {
        process.withLock { $0?.signal(signal) }
    }
}
