import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard ps`: one line per replica with its limits, health and use, one per service with its
/// update state and autoscaling, and which limits the kernel does not enforce.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps", abstract: "List replicas (pid, port, state, health, CPU and memory against the limits) and services (update state, autoscaling)."
    )

    @Flag(help: "Print the control API's JSON instead of tables.")
    var json = false

    @OptionGroup var options: StackOptions

    func run() async throws {
        let status = try await options.requireClient().status()
        if json {
            print(status.jsonString)
            return
        }
        print(Self.render(status))
    }

    static func render(_ status: JSONValue, now: Date = Date()) -> String {
        var replicaRows = [["SERVICE", "REPLICA", "TASK", "PID", "PORT", "STATE", "HEALTH", "CPU USED/LIMIT", "MEM USED/LIMIT", "PIDS", "RESTARTS", "UPTIME"]]
        var notEnforced: [String] = []
        for replica in status["replicas"]?.arrayValue ?? [] {
            let key = "\(replica["service"]?.stringValue ?? "").\(replica["slot"]?.intValue ?? 0)"
            let uptime = replica["started_at"]?.doubleValue.map { Units.format(.seconds(Int64(max(0, now.timeIntervalSince1970 - $0)))) } ?? "-"
            let limits = replica["limits"]?.arrayValue ?? []
            let unenforced = Set(limits.filter { $0["enforced"] == false && $0["limit"]?.stringValue != "cpu reservation" }.compactMap { $0["limit"]?.stringValue })
            for limit in limits where limit["enforced"] == false && limit["limit"]?.stringValue != "cpu reservation" {
                notEnforced.append("  \(key): \(limit["limit"]?.stringValue ?? "") \(limit["value"]?.stringValue ?? ""): \(limit["detail"]?.stringValue ?? "")")
            }
            let usage = replica["usage"]
            let state = replica["state"]?.stringValue ?? ""
            replicaRows.append([
                replica["service"]?.stringValue ?? "", String(replica["slot"]?.intValue ?? 0), String(replica["task"]?.intValue ?? 0),
                replica["pid"]?.intValue.map(String.init) ?? "-", replica["port"]?.intValue.map(String.init) ?? "-",
                state + (replica["oom_killed"] == true ? " (oom)" : ""), replica["health"]?.stringValue ?? "",
                cpu(usage, limit: limits, unenforced: unenforced.contains("cpus")),
                memory(usage, limit: limits, unenforced: unenforced.contains("memory")),
                usage?["pids"]?.intValue.map { String($0) + (limitValue("pids", limits).map { "/\($0)" } ?? "") } ?? "-",
                String(replica["restarts"]?.intValue ?? 0), uptime,
            ])
        }
        var serviceRows = [["SERVICE", "READY", "SPEC", "UPDATE", "AUTOSCALE"]]
        for service in status["services"]?.arrayValue ?? [] {
            let name = service["name"]?.stringValue ?? ""
            if let reason = service["skipped"]?.stringValue {
                serviceRows.append([name, "-", "-", "skipped: \(reason)", "-"])
                continue
            }
            let update = service["update"].flatMap { $0.isNull ? nil : $0 }.map { "\($0["state"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" } ?? "-"
            var autoscale = "-"
            if let scaling = service["autoscale"] {
                autoscale = "\(scaling["min"]?.intValue ?? 0)…\(scaling["max"]?.intValue ?? 0) on \((scaling["targets"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "))"
                if let calls = scaling["calls_per_replica"]?.doubleValue { autoscale += " + forecast at \(ResourceLimits.trim(calls)) calls/s per replica" }
                if let last = scaling["last"] {
                    autoscale += "; last \(last["current"]?.intValue ?? 0) → \(last["desired"]?.intValue ?? 0) (\(last["reason"]?.stringValue ?? ""))"
                    if let why = last["forecast_unavailable"]?.stringValue { autoscale += "; reactive only: \(why)" }
                }
            }
            let spec = "\(service["spec_version"]?.intValue ?? 0)" + (service["previous_spec_version"]?.intValue.map { " (previous \($0))" } ?? "")
            serviceRows.append([name, "\(service["ready"]?.intValue ?? 0)/\(service["replicas"]?.intValue ?? 0)", spec, update, autoscale])
        }
        var lines = ["phase: \(status["phase"]?.stringValue ?? "?")", table(replicaRows), "", table(serviceRows)]
        if !notEnforced.isEmpty {
            lines += ["", "limits not enforced (the kernel does not apply them to these replicas):"] + notEnforced
        }
        return lines.joined(separator: "\n")
    }

    /// `0.25/2` cores, with the percentage of the limit; `*` marks a limit that is not enforced.
    static func cpu(_ usage: JSONValue?, limit limits: [JSONValue], unenforced: Bool) -> String {
        let used = usage?["cpu_cores"]?.doubleValue.map { ResourceLimits.trim($0) } ?? "-"
        guard let limit = limitValue("cpus", limits) else { return used }
        let percent = usage?["cpu_percent_of_limit"]?.doubleValue.map { " (\(ResourceLimits.trim($0))%)" } ?? ""
        return "\(used)/\(limit)\(unenforced ? "*" : "")\(percent)"
    }

    static func memory(_ usage: JSONValue?, limit limits: [JSONValue], unenforced: Bool) -> String {
        let used = usage?["memory_bytes"]?.intValue.map(Units.formatBytes) ?? "-"
        guard let limit = limitValue("memory", limits) else { return used }
        let percent = usage?["memory_percent_of_limit"]?.doubleValue.map { " (\(ResourceLimits.trim($0))%)" } ?? ""
        return "\(used)/\(limit)\(unenforced ? "*" : "")\(percent)"
    }

    static func limitValue(_ name: String, _ limits: [JSONValue]) -> String? {
        limits.first { $0["limit"]?.stringValue == name }?["value"]?.stringValue
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.offset == row.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
