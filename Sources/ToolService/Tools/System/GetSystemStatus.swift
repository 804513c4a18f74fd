import CDispatch
import Foundation
import SwitchboardCore

/// `get_system_status`: CPU use, load, memory, disk space of the roots, uptime, processes.
struct GetSystemStatus: Tool {
    let definition = ToolDefinition(
        name: "get_system_status",
        title: "System status",
        description: "Report the machine's current health: CPU use (sampled over 200 ms), load averages, memory and swap, free space on the file systems of the workspace roots, uptime, process count and this service's background processes.",
        inputSchema: Schema.object([]),
        outputSchema: [
            "type": "object",
            "properties": [
                "cpu": ["type": "object", "properties": ["usage_percent": ["type": "number"], "cores": ["type": "integer"]]],
                "load": ["type": "object", "properties": ["one": ["type": "number"], "five": ["type": "number"], "fifteen": ["type": "number"]]],
                "memory": ["type": "object"], "disks": ["type": "array", "items": ["type": "object"]], "uptime_seconds": ["type": "number"],
                "processes": ["type": "integer"], "background_processes": ["type": "integer"],
            ],
            "required": ["cpu", "load", "memory", "disks", "uptime_seconds"],
        ],
        annotations: ToolAnnotations(readOnly: true, destructive: false, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let first = try await Blocking.run { Self.cpuTimes() }
        try await Task.sleep(for: .milliseconds(200))
        let roots = context.policy.workspace.roots.map(\.path)
        let (second, memory, load, disks) = try await Blocking.run { (Self.cpuTimes(), Self.memory(), Self.load(), Self.disks(roots)) }
        var usage = 0.0
        if let first, let second, second.total > first.total {
            usage = ((1 - Double(second.idle - first.idle) / Double(second.total - first.total)) * 1000).rounded() / 10
        }
        let value: JSONValue = [
            "cpu": ["usage_percent": .double(usage), "cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))],
            "load": ["one": .double(load.0), "five": .double(load.1), "fifteen": .double(load.2)],
            "memory": memory,
            "disks": .array(disks),
            "uptime_seconds": .double(GetSystemInfo.uptime()),
            "processes": .int(Int64(load.3)),
            "background_processes": .int(Int64(context.runtime.processes.runningCount)),
        ]
        let used = (memory["total_bytes"]?.doubleValue ?? 0) - (memory["available_bytes"]?.doubleValue ?? 0)
        var text = "CPU \(usage)% of \(ProcessInfo.processInfo.activeProcessorCount) cores; load \(load.0) \(load.1) \(load.2); "
        text += "memory \(Int(used / 1_048_576)) MiB used of \(Int((memory["total_bytes"]?.doubleValue ?? 0) / 1_048_576)) MiB"
        for disk in disks {
            text += "; \(disk["path"]?.stringValue ?? ""): \(Int((disk["available_bytes"]?.doubleValue ?? 0) / 1_073_741_824)) GiB free"
        }
        return .structured(value, text: text)
    }

    /// Idle and total jiffies from the first line of /proc/stat.
    static func cpuTimes() -> (idle: UInt64, total: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let idle = fields[3] + (fields.count > 4 ? fields[4] : 0)
        return (idle, fields.reduce(0, +))
    }

    static func memory() -> JSONValue {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return [:] }
        var values: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let number = Int64(parts[1]) else { continue }
            values[String(parts[0].dropLast())] = number * 1024
        }
        let total = values["MemTotal"] ?? 0
        let available = values["MemAvailable"] ?? values["MemFree"] ?? 0
        return [
            "total_bytes": .int(total), "available_bytes": .int(available), "used_bytes": .int(total - available),
            "swap_total_bytes": .int(values["SwapTotal"] ?? 0), "swap_free_bytes": .int(values["SwapFree"] ?? 0),
        ]
    }

    /// Load averages and the number of processes (/proc/loadavg).
    static func load() -> (Double, Double, Double, Int) {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return (0, 0, 0, 0) }
        let fields = text.split(separator: " ")
        guard fields.count >= 4 else { return (0, 0, 0, 0) }
        let processes = fields[3].split(separator: "/").last.flatMap { Int($0) } ?? 0
        return (Double(fields[0]) ?? 0, Double(fields[1]) ?? 0, Double(fields[2]) ?? 0, processes)
    }

    static func disks(_ paths: [String]) -> [JSONValue] {
        paths.compactMap { path in
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { return nil }
            let block = Int64(info.f_frsize)
            let total = Int64(info.f_blocks) * block
            let free = Int64(info.f_bfree) * block
            let available = Int64(info.f_bavail) * block
            let usedPercent = total > 0 ? (Double(total - free) / Double(total) * 1000).rounded() / 10 : 0
            return [
                "path": .string(path), "total_bytes": .int(total), "free_bytes": .int(free), "available_bytes": .int(available),
                "used_percent": .double(usedPercent),
            ]
        }
    }
}
