import Foundation
import SwitchboardCore
import Synchronization

/// A real PostgreSQL started by a test: `initdb` into a temporary directory, then `postgres` on a free
/// port on 127.0.0.1 (socket in the same directory, no fsync), trust authentication for user
/// `switchboard`. PostgreSQL refuses to run as root, so under root both run as `nobody` (through
/// `setpriv`). `stop()` and `start()` take it away and bring it back on the same port with its data.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: URL
    private let process = Mutex<ChildProcess?>(nil)

    /// The directory holding `initdb`, `postgres` and `pg_isready` (found through PATH first, then /usr/lib/postgresql/<newest>/bin), or nil.
    public static var binDirectory: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        var candidates = path.split(separator: ":").map(String.init)
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        // Resolved: PATH may hold only symlinks to some of the programs (initdb, postgres but not pg_isready).
        return candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") && FileManager.default.isExecutableFile(atPath: "\($0)/postgres") }
            .map { URL(fileURLWithPath: "\($0)/initdb").resolvingSymlinksInPath().deletingLastPathComponent().path }
    }

    /// `postgresql://switchboard@127.0.0.1:<port>/postgres`.
    public var url: String { "postgresql://switchboard@127.0.0.1:\(port)/postgres" }

    private init(port: Int, directory: URL) {
        self.port = port
        self.directory = directory
    }

    /// Creates a cluster and starts it.
    public static func start() async throws -> PostgresServer {
        guard let bin = binDirectory else {
            throw LiveServiceError(message: "PostgreSQL is not installed (apt-get install postgresql; `make test` does it)")
        }
        let server = PostgresServer(port: TestEnvironment.freePorts(1), directory: TestEnvironment.temporaryDirectory("postgres"))
        if geteuid() == 0 { _ = chown(server.directory.path, nobody.uid, nobody.gid) }
        let (executable, arguments) = asServerUser(
            "\(bin)/initdb", ["-D", server.dataDirectory, "-U", "switchboard", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]
        )
        let result = try await CommandRunner.run(executable, arguments, directory: server.directory.path, timeout: .seconds(120))
        guard result.code == 0 else {
            try? FileManager.default.removeItem(at: server.directory)
            throw LiveServiceError(message: "initdb failed (\(result.status)): \(result.stderr)")
        }
        try await server.start()
        return server
    }

    /// Runs `body` with a fresh server; always stops it and removes its directory afterwards.
    public static func with<Value: Sendable>(_ body: @Sendable (PostgresServer) async throws -> Value) async throws -> Value {
        let server = try await start()
        do {
            let value = try await body(server)
            await server.stop()
            try? FileManager.default.removeItem(at: server.directory)
            return value
        } catch {
            await server.stop()
            try? FileManager.default.removeItem(at: server.directory)
            throw error
        }
    }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    /// Starts `postgres` on the cluster (again after ``stop()``).
    public func start() async throws {
        guard let bin = Self.binDirectory else { throw LiveServiceError(message: "PostgreSQL is not installed") }
        let (executable, arguments) = Self.asServerUser(
            "\(bin)/postgres",
            [
                "-D", dataDirectory, "-p", String(port), "-k", directory.path, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "log_min_messages=warning",
            ]
        )
        var launch = ProcessLaunch(executable: executable, arguments: arguments)
        launch.workingDirectory = directory.path
        let child = try await ChildProcess.spawn(launch)
        process.withLock { $0 = child }
        do {
            try await LiveService.waitForListener(port: port)
            // The port opens before recovery ends ("the database system is starting up"): wait for pg_isready.
            try await eventually("postgres accepting connections on port \(port)", timeout: .seconds(30)) {
                try await CommandRunner.run("\(bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)], timeout: .seconds(10)).code == 0
            }
        } catch {
            await stop()
            throw LiveServiceError(message: "postgres did not start on port \(port) (\(child.status.map(\.description) ?? "still running")): \(error)")
        }
    }

    /// Stops the server (SIGINT: fast shutdown, then SIGKILL after 10 s); safe to call twice.
    public func stop() async {
        guard let child = process.withLock({ current -> ChildProcess? in
            defer { current = nil }
            return current
        }) else { return }
        _ = await child.stop(signal: SIGINT, grace: .seconds(10))
    }

    private static var nobody: (uid: uid_t, gid: gid_t) {
        guard let entry = getpwnam("nobody") else { return (65534, 65534) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// The command as the server's user: unchanged unless root, then as `nobody` through `setpriv`.
    private static func asServerUser(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        guard geteuid() == 0 else { return (executable, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--clear-groups", executable] + arguments)
    }
}
