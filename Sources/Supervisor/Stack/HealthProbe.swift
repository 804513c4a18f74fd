import Foundation
import SwitchboardCore

/// Runs one compose healthcheck test the way Docker does: exec or `/bin/sh -c`, exit 0 = healthy,
/// anything else (including a timeout) = unhealthy; output kept up to 4096 bytes.
struct HealthProbe: Sendable {
    let test: ComposeService.Healthcheck.Test
    let timeout: Duration
    let environment: [String: String]
    let resolve: @Sendable (String) -> String?

    struct Result: Sendable {
        let healthy: Bool
        let output: String
    }

    func run() async -> Result {
        let argv: [String]
        switch test {
        case .exec(let words): argv = words
        case .shell(let command): argv = ["/bin/sh", "-c", command]
        }
        guard let program = resolve(argv[0]) else {
            return Result(healthy: false, output: "healthcheck program '\(argv[0])' not found")
        }
        var launch = ProcessLaunch(executable: program, arguments: Array(argv.dropFirst()), environment: environment)
        launch.stdout = .pipe
        launch.stderr = .pipe
        let child: ChildProcess
        do {
            child = try await ChildProcess.spawn(launch)
        } catch {
            return Result(healthy: false, output: error.description)
        }
        async let output = Self.collect(child.stdout, child.stderr)
        let status: ExitStatus? = await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { await child.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        guard let status else {
            child.signal(SIGKILL)
            _ = await child.wait()
            _ = await output
            return Result(healthy: false, output: "healthcheck timed out after \(Units.format(timeout))")
        }
        let text = await output
        return Result(healthy: status.succeeded, output: text)
    }

    private static func collect(_ streams: AsyncStream<[UInt8]>?...) async -> String {
        var bytes: [UInt8] = []
        for stream in streams.compactMap({ $0 }) {
            for await chunk in stream where bytes.count < 4096 { bytes += chunk.prefix(4096 - bytes.count) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
