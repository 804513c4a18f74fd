import Foundation
import Logging
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// A ``Stack`` run in the test process from a compose text, with real child processes, a temporary state
/// directory and free ports (`$BASE` in the text is replaced by the first of ten free ports).
struct StackHarness {
    let stack: Stack
    let directory: URL
    let basePort: Int

    init(_ yaml: String, cgroups: CgroupHierarchy = .none, configure: (inout StackSettings) -> Void = { _ in }) async throws {
        directory = TestEnvironment.temporaryDirectory("switchboard-stack")
        basePort = TestEnvironment.freePorts(10)
        let text = yaml.replacingOccurrences(of: "$BASE", with: String(basePort)).replacingOccurrences(of: "$DIR", with: directory.path)
        let composePath = directory.appendingPathComponent("compose.yml").path
        try text.write(toFile: composePath, atomically: true, encoding: .utf8)
        let project = try ComposeLoader.load(path: composePath, environment: [:])
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("logs"), withIntermediateDirectories: true)
        var settings = StackSettings(
            binDirectory: TestEnvironment.binDirectory.path, stateDirectory: directory.path, workingDirectory: directory.path,
            serviceSecret: TestEnvironment.secret, baseEnvironment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], console: nil
        )
        settings.composePath = composePath
        settings.cgroups = cgroups
        settings.sampleInterval = .milliseconds(200)
        settings.drainTimeout = .seconds(2)
        settings.autoscaleLoop = false
        configure(&settings)
        var logger = Logger(label: "stack-test")
        logger.logLevel = .warning
        stack = Stack(project: project, settings: settings, logger: logger)
        try await stack.prepare()
        do {
            try await stack.start()
        } catch {
            await stack.stop()
            throw error
        }
    }

    /// Runs `body` with a started stack and stops the stack afterwards, also when `body` fails.
    static func with(
        _ yaml: String, cgroups: CgroupHierarchy = .none, configure: (inout StackSettings) -> Void = { _ in },
        _ body: (StackHarness) async throws -> Void
    ) async throws {
        let harness = try await StackHarness(yaml, cgroups: cgroups, configure: configure)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// Replaces the compose file the next `update` reads.
    func rewrite(_ yaml: String) throws {
        let text = yaml.replacingOccurrences(of: "$BASE", with: String(basePort)).replacingOccurrences(of: "$DIR", with: directory.path)
        try text.write(to: directory.appendingPathComponent("compose.yml"), atomically: true, encoding: .utf8)
    }

    /// Waits until `condition` holds, checking every 20 ms; fails the test after `timeout`.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: (Stack) async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition(stack)) {
            if ContinuousClock.now > deadline {
                let replicas = await stack.replicas.map { "\($0.key)#\($0.id) \($0.state.rawValue)/\($0.health.rawValue) spec \($0.specVersion)" }
                Issue.record("timed out after \(timeout) waiting for \(what); replicas: \(replicas)", sourceLocation: sourceLocation)
                throw LiveServiceError(message: "timed out waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Wanted tasks of a service, by slot.
    func tasks(_ service: String) async -> [ReplicaRecord] {
        await stack.replicas.filter { $0.key.service == service && $0.desired == .running }
    }

    func stop() async {
        await stack.stop()
    }
}
