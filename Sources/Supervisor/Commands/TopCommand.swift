import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard top`: live resource use of every replica against its limits (as `docker stats`) and the
/// processes inside each replica (as `docker compose top`), refreshed every interval.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Show live CPU, memory and pids of every replica against its limits, with the processes inside each."
    )

    @Option(name: .customLong("interval"), help: "Seconds between refreshes.")
    var interval = 2.0

    @Flag(name: .customLong("once"), help: "Print one screen and exit.")
    var once = false

    @OptionGroup var options: StackOptions

    func validate() throws {
        guard interval >= 0.2 else { throw ValidationError("--interval must be at least 0.2 seconds") }
    }

    func run() async throws {
        let client = try options.requireClient()
        let clear = !once && isatty(1) != 0
        while true {
            let status = try await client.status()
            if clear { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(Self.render(status))
            fflush(nil)
            if once { return }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    static func render(_ status: JSONValue, now: Date = Date()) -> String {
        var rows = [["REPLICA", "TASK", "CPU %", "CPU USED/LIMIT", "MEM USED/LIMIT", "MEM %", "PIDS", "SOURCE"]]
        var processes: [String] = []
        let replicas = (status["replicas"]?.arrayValue ?? []).filter { $0["state"]?.stringValue != "exited" }
        for replica in replicas.sorted(by: { ($0["usage"]?["cpu_cores"]?.doubleValue ?? 0) > ($1["usage"]?["cpu_cores"]?.doubleValue ?? 0) }) {
            let name = "\(replica["service"]?.stringValue ?? "").\(replica["slot"]?.intValue ?? 0)"
            let usage = replica["usage"]
            let limits = replica["limits"]?.arrayValue ?? []
            let unenforced = Set(limits.filter { $0["enforced"] == false }.compactMap { $0["limit"]?.stringValue })
            rows.append([
                name, String(replica["task"]?.intValue ?? 0),
                usage?["cpu_cores"]?.doubleValue.map { ResourceLimits.trim($0 * 100) + "%" } ?? "-",
                PsCommand.cpu(usage, limit: limits, unenforced: unenforced.contains("cpus")),
                PsCommand.memory(usage, limit: limits, unenforced: unenforced.contains("memory")),
                usage?["memory_percent_of_limit"]?.doubleValue.map { ResourceLimits.trim($0) + "%" } ?? "-",
                usage?["pids"]?.intValue.map(String.init) ?? "-", usage?["source"]?.stringValue ?? "-",
            ])
            if let pid = replica["pid"]?.intValue {
                processes.append("\(name) (task \(replica["task"]?.intValue ?? 0))")
                for member in ProcessTable.members(ofGroup: pid_t(pid)).sorted() {
                    let statistics = ProcessStatistics.of(pid: member)
                    processes.append("  \(String(member).padding(toLength: 8, withPad: " ", startingAt: 0))"
                        + "\(Units.formatBytes(statistics.residentBytes).padding(toLength: 10, withPad: " ", startingAt: 0))"
                        + "\(Units.format(.milliseconds(Int64(statistics.cpuSeconds * 1000))).padding(toLength: 9, withPad: " ", startingAt: 0))"
                        + command(of: member))
                }
            }
        }
        let header = "switchboard top — \(ISO8601DateFormatter().string(from: now)) — phase \(status["phase"]?.stringValue ?? "?") — CPU % is of one core"
        var lines = [header, "", PsCommand.table(rows)]
        if !processes.isEmpty { lines += ["", "PROCESSES (pid, resident memory, CPU time, command)"] + processes }
        return lines.joined(separator: "\n")
    }

    static func command(of pid: pid_t) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return "?" }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}
