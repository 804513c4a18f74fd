import Foundation
import SwitchboardCore

/// One replica's cgroup: a directory per hierarchy that holds its controllers. The replica joins every
/// one of them between fork and exec (`ProcessLaunch.cgroupProcs`).
struct ReplicaCgroup: Sendable {
    struct Directory: Sendable, Equatable {
        let version: CgroupVersion
        let path: String
    }

    let name: String
    let directories: [CgroupController: Directory]

    /// The `cgroup.procs` files the replica writes itself into, one per distinct directory.
    var procsFiles: [String] { paths.map { $0 + "/cgroup.procs" } }

    private var paths: [String] { Set(directories.values.map(\.path)).sorted() }

    /// What the kernel counts for this cgroup now.
    func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        if let cpu = directories[.cpu], cpu.version == .v2 {
            if let micros = Self.field("usage_usec", in: cpu.path + "/cpu.stat") { usage.cpuNanoseconds = micros * 1000 }
        } else if let cpuacct = directories[.cpuacct] {
            usage.cpuNanoseconds = Self.number(cpuacct.path + "/cpuacct.usage")
        }
        if let memory = directories[.memory] {
            // As `docker stats`: usage without the inactive page cache.
            switch memory.version {
            case .v2:
                let current = Self.number(memory.path + "/memory.current")
                let inactive = Self.field("inactive_file", in: memory.path + "/memory.stat") ?? 0
                usage.memoryBytes = current.map { $0 - min(inactive, $0) }
                usage.memoryLimit = Self.number(memory.path + "/memory.max")
                usage.oomKills = Self.field("oom_kill", in: memory.path + "/memory.events")
            case .v1:
                let current = Self.number(memory.path + "/memory.usage_in_bytes")
                let inactive = Self.field("total_inactive_file", in: memory.path + "/memory.stat") ?? 0
                usage.memoryBytes = current.map { $0 - min(inactive, $0) }
                usage.memoryLimit = Self.number(memory.path + "/memory.limit_in_bytes").flatMap { $0 >= 1 << 62 ? nil : $0 }
                usage.oomKills = Self.field("oom_kill", in: memory.path + "/memory.oom_control")
            }
        }
        if let pids = directories[.pids] {
            usage.pids = Self.number(pids.path + "/pids.current")
        }
        return usage
    }

    /// Pids of the processes in the cgroup (from the first hierarchy).
    var members: [pid_t] {
        paths.first.map { Self.members(of: $0) } ?? []
    }

    /// SIGKILLs everything still in the cgroup, as Docker does when a container stops.
    func killAll() {
        for path in paths {
            if FileManager.default.fileExists(atPath: path + "/cgroup.kill"), CgroupHierarchy.write("1", to: path + "/cgroup.kill") == nil { continue }
            Self.killMembers(of: path)
        }
    }

    /// Kills what is left and removes the directories.
    func remove() {
        killAll()
        for path in paths {
            // A killed process leaves its cgroup a moment after the signal.
            for _ in 0..<50 where rmdir(path) != 0 && errno == EBUSY {
                usleep(10_000)
            }
        }
    }

    static func killMembers(of directory: String) {
        for _ in 0..<20 {
            let pids = members(of: directory)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(5_000)
        }
    }

    static func members(of directory: String) -> [pid_t] {
        ((try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    private static func number(_ path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `name value` lines (cpu.stat, memory.stat, memory.events, memory.oom_control).
    private static func field(_ name: String, in path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int64(parts[1]) }
        }
        return nil
    }
}

/// A replica's resource use as its cgroup reports it.
struct CgroupUsage: Sendable, Equatable {
    var cpuNanoseconds: Int64?
    var memoryBytes: Int64?
    var memoryLimit: Int64?
    var oomKills: Int64?
    var pids: Int64?
}
