import Foundation
import SwitchboardCore
import Testing

@testable import ToolService

/// `get_system_info`, checked against what /proc says. (`get_system_status` is covered end to end by
/// Tests/python/test_tools.py: in this process, get_system_status, start_process, get_system_status,
/// terminate_process segfaults in libdispatch's `_dispatch_event_loop_drain`; an open defect.)
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
}
