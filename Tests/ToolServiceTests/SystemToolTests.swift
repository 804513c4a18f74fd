import Foundation
import SwitchboardCore
import Testing

@testable import ToolService

/// `get_system_info` and `get_system_status`, checked against what /proc says.
struct SystemToolTests {
    /// A `/proc/meminfo` field in bytes.
    static func meminfo(_ field: String) throws -> Int64 {
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(field + ":") })
        let kibibytes = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int64($0) })
        return kibibytes * 1024
    }

    @Test func systemInfoDescribesThisMachine() async throws {
        let harness = try ToolHarness()
        let result = await harness.call("get_system_info")
        #expect(!result.isError)
        let info = try #require(result.structuredContent)
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(info["kernel"]?.stringValue == "Linux \(release)")
        let hostname = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(info["hostname"]?.stringValue == hostname)
        #expect(info["cpus"]?.intValue == Int64(ProcessInfo.processInfo.activeProcessorCount))
        #expect(info["memory_bytes"]?.intValue == (try Self.meminfo("MemTotal")))
        #expect((info["uptime_seconds"]?.doubleValue ?? 0) > 0)
        let extra = await harness.call("get_system_info", ["verbose": true])
        #expect(extra.isError)
        #expect(ToolHarness.text(extra).contains("arguments.verbose"))
        await harness.close()
    }

    @Test func systemStatusCountsBackgroundProcesses() async throws {
        let harness = try ToolHarness()
        let idle = await harness.call("get_system_status")
        #expect(!idle.isError)
        let status = try #require(idle.structuredContent)
        #expect(status["cpu"]?["cores"]?.intValue == Int64(ProcessInfo.processInfo.activeProcessorCount))
        let usage = try #require(status["cpu"]?["usage_percent"]?.doubleValue)
        #expect(usage >= 0 && usage <= 100)
        #expect(status["memory"]?["total_bytes"]?.intValue == (try Self.meminfo("MemTotal")))
        #expect(status["disks"]?.arrayValue?.first?["path"]?.stringValue == harness.root)
        #expect(status["background_processes"]?.intValue == 0)
        let started = await harness.call("start_process", ["command": "sleep", "args": ["30"], "wait_ms": 0])
        let pid = try #require(started.structuredContent?["pid"]?.intValue)
        let busy = await harness.call("get_system_status")
        #expect(busy.structuredContent?["background_processes"]?.intValue == 1)
        let stopped = await harness.call("terminate_process", ["pid": .int(pid), "grace_ms": 500])
        #expect(stopped.structuredContent?["running"] == false)
        let after = await harness.call("get_system_status")
        #expect(after.structuredContent?["background_processes"]?.intValue == 0)
        await harness.close()
    }
}
