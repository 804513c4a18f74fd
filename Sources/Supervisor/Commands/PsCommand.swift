import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard ps`: one line per replica.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List replicas with pid, port, state and health.")

    @Flag(help: "Print the control API's JSON instead of a table.")
    var json = false

    @OptionGroup var options: StackOptions

    func run() async throws {
        guard options.state.runningSupervisor() != nil else {
            Output().error("not running (no live supervisor in \(options.state.path))")
            throw ExitCode(1)
        }
        let status = try await options.controlClient().status()
        if json {
            print(status.jsonString)
            return
        }
        print(Self.table(status))
    }

    static func table(_ status: JSONValue) -> String {
        var rows = [["SERVICE", "REPLICA", "PID", "PORT", "STATE", "HEALTH", "RESTARTS", "UPTIME"]]
        let now = Date().timeIntervalSince1970
        for replica in status["replicas"]?.arrayValue ?? [] {
            let uptime = replica["started_at"]?.doubleValue.map { Units.format(.seconds(Int64(now - $0))) } ?? "-"
            rows.append([
                replica["service"]?.stringValue ?? "", replica["slot"]?.intValue.map(String.init) ?? "",
                replica["pid"]?.intValue.map(String.init) ?? "-", replica["port"]?.intValue.map(String.init) ?? "-",
                replica["state"]?.stringValue ?? "", replica["health"]?.stringValue ?? "",
                replica["restarts"]?.intValue.map(String.init) ?? "0", uptime,
            ])
        }
        for service in status["services"]?.arrayValue ?? [] {
            if let reason = service["skipped"]?.stringValue {
                rows.append([service["name"]?.stringValue ?? "", "-", "-", "-", "skipped", reason, "-", "-"])
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let phase = "phase: \(status["phase"]?.stringValue ?? "?")"
        return ([phase] + rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }).joined(separator: "\n")
    }
}
