import Foundation
import SwitchboardCore

/// `get_system_info`: what machine the tools run on — OS, kernel, architecture, CPUs, memory, uptime.
struct GetSystemInfo: Tool {
    let definition = ToolDefinition(
        name: "get_system_info",
        title: "System information",
        description: "Describe the machine the tools run on: host name, operating system, kernel, architecture, CPU count, total memory and uptime.",
        inputSchema: Schema.object([]),
        outputSchema: [
            "type": "object",
            "properties": [
                "hostname": ["type": "string"],
                "os": ["type": "string"],
                "kernel": ["type": "string"],
                "architecture": ["type": "string"],
                "cpus": ["type": "integer"],
                "memory_bytes": ["type": "integer"],
                "uptime_seconds": ["type": "number"],
            ],
            "required": ["hostname", "os", "kernel", "architecture", "cpus", "memory_bytes", "uptime_seconds"],
        ],
        annotations: .readOnlyLocal
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        try await Blocking.run { .structured(Self.describe()) }
    }

    static func describe() -> JSONValue {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let info: JSONValue = [
            "hostname": .string(field(names.nodename)),
            "os": .string(Self.operatingSystem()),
            "kernel": .string("\(field(names.sysname)) \(field(names.release))"),
            "architecture": .string(field(names.machine)),
            "cpus": .int(Int64(ProcessInfo.processInfo.activeProcessorCount)),
            "memory_bytes": .int(Int64(ProcessInfo.processInfo.physicalMemory)),
            "uptime_seconds": .double(Self.uptime()),
        ]
        return info
    }

    static func operatingSystem() -> String {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return "Linux" }
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return "Linux"
    }

    static func uptime() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8) else { return 0 }
        return Double(text.split(separator: " ").first ?? "0") ?? 0
    }
}
