import Dispatch
import Foundation
import SwitchboardCore

/// A replica's resource use at the last sample, against its limits.
struct ResourceUsage: Sendable {
    /// CPU time used since the task started.
    var cpuSeconds: Double
    /// Cores in use over the last sampling interval (nil until two samples exist).
    var cpuCores: Double?
    var cpuLimitCores: Double?
    var memoryBytes: Int64?
    var memoryLimit: Int64?
    var pids: Int64?
    var oomKills: Int64 = 0
    /// `cgroup v1`, `cgroup v2` or `/proc` (no cgroup: the process group's members summed).
    var source: String
    var sampledAt: ContinuousClock.Instant

    var cpuPercentOfLimit: Double? {
        guard let cpuCores, let cpuLimitCores, cpuLimitCores > 0 else { return nil }
        return cpuCores / cpuLimitCores * 100
    }

    var memoryPercentOfLimit: Double? {
        guard let memoryBytes, let memoryLimit, memoryLimit > 0 else { return nil }
        return Double(memoryBytes) / Double(memoryLimit) * 100
    }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("source", .string(source)),
            ("cpu_seconds", .double((cpuSeconds * 1000).rounded() / 1000)),
        ]
        if let cpuCores { members.append(("cpu_cores", .double((cpuCores * 1000).rounded() / 1000))) }
        if let cpuLimitCores { members.append(("cpu_limit_cores", .double(cpuLimitCores))) }
        if let cpuPercentOfLimit { members.append(("cpu_percent_of_limit", .double((cpuPercentOfLimit * 10).rounded() / 10))) }
        if let memoryBytes { members.append(("memory_bytes", .int(memoryBytes))) }
        if let memoryLimit { members.append(("memory_limit_bytes", .int(memoryLimit))) }
        if let memoryPercentOfLimit { members.append(("memory_percent_of_limit", .double((memoryPercentOfLimit * 10).rounded() / 10))) }
        if let pids { members.append(("pids", .int(pids))) }
        members.append(("oom_kills", .int(oomKills)))
        return .object(members)
    }

    /// Reads a task's use now: from its cgroup where it has one, else from /proc for its process group.
    static func read(cgroup: ReplicaCgroup?, processGroup: pid_t?) -> (cpuNanoseconds: Int64?, usage: CgroupUsage, source: String) {
        var usage = cgroup?.usage() ?? CgroupUsage()
        var source = cgroup.map { group in
            Set(group.directories.values.map(\.version.rawValue)).sorted().map { "cgroup \($0)" }.joined(separator: "+")
        } ?? "/proc"
        if usage.cpuNanoseconds == nil || usage.memoryBytes == nil, let processGroup {
            let members = ProcessTable.members(ofGroup: processGroup)
            let statistics = members.map { ProcessStatistics.of(pid: $0) }
            if usage.cpuNanoseconds == nil { usage.cpuNanoseconds = Int64(statistics.reduce(0) { $0 + $1.cpuSeconds } * 1e9) }
            if usage.memoryBytes == nil { usage.memoryBytes = statistics.reduce(0) { $0 + $1.residentBytes } }
            if usage.pids == nil { usage.pids = Int64(members.count) }
            if cgroup == nil { source = "/proc" }
        }
        return (usage.cpuNanoseconds, usage, source)
    }
}
