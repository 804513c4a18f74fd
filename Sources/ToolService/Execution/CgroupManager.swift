import CDispatch
import Foundation
import Synchronization

/// Per-execution control groups: each command gets its own cgroup with memory, process-count and
/// optional CPU limits; the child joins it between fork and exec, and when the command ends everything
/// still in it is killed, including processes that left the process group with `setsid`.
///
/// cgroup v2 is used when the unified hierarchy offers the memory and pids controllers and this
/// process may delegate them; otherwise cgroup v1 hierarchies for memory and pids (and cpu, cpuacct);
/// otherwise nothing, and limits fall back to rlimits (results say which was used).
final class CgroupManager: Sendable {
    enum Layout: Sendable {
        /// Base directories this process created, per controller.
        case v1(memory: String?, pids: String?, cpu: String?, cpuacct: String?)
        case v2(base: String)
        case unavailable(reason: String)
    }

    let layout: Layout
    private let counter = Atomic<Int>(0)

    init(layout: Layout) {
        self.layout = layout
    }

    /// What enforces memory and process limits: `cgroup v1`, `cgroup v2` or `rlimit`.
    var mechanism: String {
        switch layout {
        case .v1(let memory, let pids, _, _): return memory != nil || pids != nil ? "cgroup v1" : "rlimit"
        case .v2: return "cgroup v2"
        case .unavailable: return "rlimit"
        }
    }

    var hasMemoryController: Bool {
        switch layout {
        case .v1(let memory, _, _, _): return memory != nil
        case .v2: return true
        case .unavailable: return false
        }
    }

    var hasPidsController: Bool {
        switch layout {
        case .v1(_, let pids, _, _): return pids != nil
        case .v2: return true
        case .unavailable: return false
        }
    }

    var detail: String {
        switch layout {
        case .v1(let memory, let pids, let cpu, _):
            let parts = [memory.map { "memory \($0)" }, pids.map { "pids \($0)" }, cpu.map { "cpu \($0)" }].compactMap { $0 }
            return parts.isEmpty ? "no writable cgroup v1 controller; limits use rlimits" : "cgroup v1: " + parts.joined(separator: ", ")
        case .v2(let base): return "cgroup v2: \(base)"
        case .unavailable(let reason): return "cgroups unavailable (\(reason)); limits use rlimits"
        }
    }

    // MARK: Detection

    /// Finds writable hierarchies and creates this process's base cgroup(s) named `prefix`.
    static func detect(
        prefix: String = "switchboard-tools-\(getpid())", mountInfo: String = "/proc/self/mountinfo", membership: String = "/proc/self/cgroup"
    ) -> CgroupManager {
        guard let mounts = try? String(contentsOfFile: mountInfo, encoding: .utf8),
            let groups = try? String(contentsOfFile: membership, encoding: .utf8)
        else {
            return CgroupManager(layout: .unavailable(reason: "cannot read \(mountInfo) or \(membership)"))
        }
        var ownPaths: [String: String] = [:]  // controller ("" for v2) → path
        for line in groups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                ownPaths[""] = String(fields[2])
            } else {
                for controller in fields[1].split(separator: ",") { ownPaths[String(controller)] = String(fields[2]) }
            }
        }
        var v1Mounts: [String: (point: String, root: String)] = [:]
        var v2Mount: (point: String, root: String)?
        for line in mounts.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            let tail = halves[1].split(separator: " ")
            guard fields.count >= 5, tail.count >= 3 else { continue }
            let root = String(fields[3])
            let point = String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            if tail[0] == "cgroup2" {
                v2Mount = (point, root)
            } else if tail[0] == "cgroup" {
                for option in tail[2].split(separator: ",") where ["memory", "pids", "cpu", "cpuacct"].contains(String(option)) {
                    v1Mounts[String(option)] = (point, root)
                }
            }
        }
        func directory(_ mount: (point: String, root: String), own: String) -> String {
            var relative = own
            if mount.root != "/", own.hasPrefix(mount.root) { relative = String(own.dropFirst(mount.root.count)) }
            return Workspace.normalize(mount.point + "/" + relative)
        }
        if let v2Mount, let own = ownPaths[""] {
            let ownDirectory = directory(v2Mount, own: own)
            if let base = prepareV2(ownDirectory: ownDirectory, prefix: prefix) {
                return CgroupManager(layout: .v2(base: base))
            }
        }
        var bases: [String: String] = [:]
        for controller in ["memory", "pids", "cpu", "cpuacct"] {
            guard let mount = v1Mounts[controller], let own = ownPaths[controller] else { continue }
            let parent = directory(mount, own: own)
            removeStale(in: parent)
            let base = parent + "/" + prefix
            if mkdir(base, 0o755) == 0 || errno == EEXIST, access(base + "/cgroup.procs", W_OK) == 0 {
                bases[controller] = base
            }
        }
        if bases.isEmpty {
            return CgroupManager(layout: .unavailable(reason: "no writable memory or pids hierarchy"))
        }
        return CgroupManager(layout: .v1(memory: bases["memory"], pids: bases["pids"], cpu: bases["cpu"], cpuacct: bases["cpuacct"]))
    }

    /// Delegates memory, pids and cpu to `<own>/<prefix>`. When this process sits in `<own>` itself, it
    /// first moves into a leaf `<own>/switchboard-service` (the "no internal processes" rule).
    private static func prepareV2(ownDirectory: String, prefix: String) -> String? {
        guard let available = try? String(contentsOfFile: ownDirectory + "/cgroup.controllers", encoding: .utf8) else { return nil }
        let controllers = Set(available.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        guard controllers.contains("memory"), controllers.contains("pids") else { return nil }
        let wanted = ["memory", "pids", "cpu"].filter(controllers.contains).map { "+" + $0 }.joined(separator: " ")
        removeStale(in: ownDirectory)
        if !write(wanted, to: ownDirectory + "/cgroup.subtree_control") {
            let leaf = ownDirectory + "/switchboard-service"
            guard mkdir(leaf, 0o755) == 0 || errno == EEXIST, write(String(getpid()), to: leaf + "/cgroup.procs"),
                write(wanted, to: ownDirectory + "/cgroup.subtree_control")
            else { return nil }
        }
        let base = ownDirectory + "/" + prefix
        guard mkdir(base, 0o755) == 0 || errno == EEXIST, write(wanted, to: base + "/cgroup.subtree_control") else { return nil }
        return base
    }

    /// Removes base cgroups left by tool-service processes that no longer exist.
    private static func removeStale(in parent: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries where entry.hasPrefix("switchboard-tools-") {
            guard let pid = Int32(entry.dropFirst("switchboard-tools-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let base = parent + "/" + entry
            for child in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where child.hasPrefix("exec-") {
                ExecutionCgroup.killAllNow(in: base + "/" + child)
                rmdir(base + "/" + child)
            }
            rmdir(base)
        }
    }

    // MARK: Per execution

    /// What to apply to one execution's cgroup.
    struct Limits: Sendable {
        var memory: Int64?
        var processes: Int?
        var cpus: Double?
    }

    /// A new cgroup for one execution, or nil when cgroups are unavailable or creation failed.
    func create(_ limits: Limits) -> ExecutionCgroup? {
        let name = "exec-\(counter.add(1, ordering: .relaxed).newValue)"
        switch layout {
        case .unavailable:
            return nil
        case .v2(let base):
            let directory = base + "/" + name
            guard mkdir(directory, 0o755) == 0 else { return nil }
            if let memory = limits.memory {
                Self.write(String(memory), to: directory + "/memory.max")
                Self.write("0", to: directory + "/memory.swap.max")
            }
            if let processes = limits.processes { Self.write(String(processes), to: directory + "/pids.max") }
            if let cpus = limits.cpus { Self.write("\(Int(cpus * 100_000)) 100000", to: directory + "/cpu.max") }
            return ExecutionCgroup(version: 2, directories: [directory], procsFiles: [directory + "/cgroup.procs"])
        case .v1(let memory, let pids, let cpu, let cpuacct):
            var directories: [String] = []
            var roles: [String: String] = [:]
            for (controller, base) in [("memory", memory), ("pids", pids), ("cpu", cpu), ("cpuacct", cpuacct)] {
                guard let base else { continue }
                let directory = base + "/" + name
                guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { continue }
                directories.append(directory)
                roles[controller] = directory
            }
            guard !directories.isEmpty else { return nil }
            if let directory = roles["memory"], let bytes = limits.memory {
                Self.write(String(bytes), to: directory + "/memory.limit_in_bytes")
                if FileManager.default.fileExists(atPath: directory + "/memory.memsw.limit_in_bytes") {
                    Self.write(String(bytes), to: directory + "/memory.memsw.limit_in_bytes")
                }
            }
            if let directory = roles["pids"], let processes = limits.processes { Self.write(String(processes), to: directory + "/pids.max") }
            if let directory = roles["cpu"], let cpus = limits.cpus {
                Self.write("100000", to: directory + "/cpu.cfs_period_us")
                Self.write(String(Int(cpus * 100_000)), to: directory + "/cpu.cfs_quota_us")
            }
            return ExecutionCgroup(version: 1, directories: directories, procsFiles: directories.map { $0 + "/cgroup.procs" }, roles: roles)
        }
    }

    /// Removes this process's base cgroups (at shutdown, after every execution has ended).
    func removeBases() {
        switch layout {
        case .v1(let memory, let pids, let cpu, let cpuacct):
            for base in [memory, pids, cpu, cpuacct].compactMap({ $0 }) { rmdir(base) }
        case .v2(let base):
            rmdir(base)
        case .unavailable:
            break
        }
    }

    @discardableResult
    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, bytes.count) } == bytes.count
    }
}

/// One execution's cgroup(s).
final class ExecutionCgroup: Sendable {
    let version: Int
    let directories: [String]
    /// The `cgroup.procs` files the child writes itself into before exec.
    let procsFiles: [String]
    /// v1: controller → directory.
    private let roles: [String: String]

    init(version: Int, directories: [String], procsFiles: [String], roles: [String: String] = [:]) {
        self.version = version
        self.directories = directories
        self.procsFiles = procsFiles
        self.roles = roles
    }

    private func directory(for controller: String) -> String? {
        version == 2 ? directories.first : roles[controller]
    }

    /// Highest memory use, in bytes.
    var memoryPeak: Int64? {
        guard let directory = directory(for: "memory") else { return nil }
        return Self.readNumber(directory + (version == 2 ? "/memory.peak" : "/memory.max_usage_in_bytes"))
    }

    /// How many processes the kernel's OOM killer ended in this cgroup.
    var oomKills: Int {
        guard let directory = directory(for: "memory") else { return 0 }
        return Int(Self.readKey("oom_kill", in: directory + (version == 2 ? "/memory.events" : "/memory.oom_control")) ?? 0)
    }

    /// Whether a fork failed because of the process limit.
    var processLimitHit: Bool {
        guard let directory = directory(for: "pids") else { return false }
        return (Self.readKey("max", in: directory + "/pids.events") ?? 0) > 0
    }

    /// CPU time used by everything in the cgroup.
    var cpuTime: Duration? {
        if version == 2, let directory = directories.first, let micros = Self.readKey("usage_usec", in: directory + "/cpu.stat") {
            return .microseconds(micros)
        }
        if let directory = roles["cpuacct"], let nanos = Self.readNumber(directory + "/cpuacct.usage") {
            return .nanoseconds(nanos)
        }
        return nil
    }

    /// Kills every process in the cgroup and waits (up to ~2 s) until it is empty.
    func killAll() async {
        let directories = directories
        for _ in 0..<100 {
            let remaining = (try? await Blocking.run { directories.map { Self.killAllNow(in: $0) }.contains(true) }) ?? false
            if !remaining { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Removes the cgroup (it must be empty).
    func remove() {
        for directory in directories { rmdir(directory) }
    }

    /// SIGKILLs every process listed in `directory`; true when any was found.
    @discardableResult
    static func killAllNow(in directory: String) -> Bool {
        if FileManager.default.fileExists(atPath: directory + "/cgroup.kill") {
            CgroupManager.write("1", to: directory + "/cgroup.kill")
        }
        guard let text = try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8) else { return false }
        let pids = text.split(separator: "\n").compactMap { pid_t($0) }
        for pid in pids { kill(pid, SIGKILL) }
        return !pids.isEmpty
    }

    private static func readNumber(_ path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func readKey(_ key: String, in path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int64(parts[1]) }
        }
        return nil
    }
}
