import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard update SERVICE`: re-read the service from the compose file (and a rebuilt binary), apply
/// `--env`, `--unset-env`, `--binary` and `--force`, and roll the replicas with the service's `update_config`.
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Roll a service's replicas to its new definition (compose file, rebuilt binary, --env, --binary, --force) with its update_config."
    )

    @Argument(help: "The service to update.")
    var service: String

    @Option(name: .customLong("env"), help: "Set an environment variable (KEY=VALUE); repeatable.")
    var environment: [String] = []

    @Option(name: .customLong("unset-env"), help: "Remove an environment variable; repeatable.")
    var unset: [String] = []

    @Option(name: .customLong("binary"), help: "Run this program instead of the compose file's (path, or a name next to switchboard or on PATH).")
    var binary: String?

    @Flag(name: .customLong("force"), help: "Replace the replicas even when nothing changed (as docker service update --force).")
    var force = false

    @Flag(name: [.short, .customLong("detach")], help: "Return once the update has started instead of following it.")
    var detach = false

    @Option(name: .customLong("timeout"), help: "Seconds to follow the update before giving up waiting (the update goes on).")
    var timeout = 600

    @OptionGroup var options: StackOptions

    func validate() throws {
        for item in environment where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--env \(item): expected KEY=VALUE")
        }
    }

    func run() async throws {
        let client = try options.requireClient()
        let output = Output()
        var variables: [String: String] = [:]
        for item in environment {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            variables[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let answer: JSONValue
        do {
            answer = try await client.update(service, environment: variables, unset: unset, binary: binary, force: force)
        } catch {
            output.error("\(service): \(error)")
            throw ExitCode(1)
        }
        if answer["changed"] == false && (answer["update"]?.isNull ?? true) {
            output.note("\(service): no changes (use --force to replace the replicas anyway)")
            return
        }
        output.note("\(service): spec \(answer["spec_version"]?.intValue ?? 0)\(answer["changed"] == true ? " (new definition)" : "")")
        guard !detach else { return }
        throw ExitCode(try await Self.follow(service, client: client, timeout: .seconds(timeout)))
    }

    /// Prints the update's progress until it completes or pauses; exit code 0 when it ended in `success`.
    static func follow(_ service: String, client: ControlClient, timeout: Duration, success: String = "completed") async throws -> Int32 {
        let output = Output()
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            let status = try await client.status()
            guard let entry = status["services"]?.arrayValue?.first(where: { $0["name"]?.stringValue == service }) else { return 1 }
            let version = entry["spec_version"]?.intValue ?? 0
            let tasks = (status["replicas"]?.arrayValue ?? []).filter { $0["service"]?.stringValue == service && $0["desired"]?.stringValue == "running" }
            let current = tasks.filter { $0["spec_version"]?.intValue == version && $0["ready"] == true }.count
            let state = entry["update"]?["state"]?.stringValue
            let line = "\(state ?? "no update"): \(entry["update"]?["message"]?.stringValue ?? "")  [\(current)/\(entry["replicas"]?.intValue ?? 0) replicas ready on spec \(version)]"
            if line != last {
                output.note("\(service): \(line)")
                last = line
            }
            switch state {
            case nil:
                return 0
            case "completed", "rollback_completed", "paused", "rollback_paused":
                return state == success ? 0 : 1
            default:
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        output.error("\(service): still updating after \(Units.format(timeout)); follow it with 'switchboard ps'")
        return 1
    }
}
