import Foundation
import SwitchboardCore

/// The two cgroup interfaces of the kernel.
enum CgroupVersion: String, Sendable {
    case v1, v2
}

/// The cgroup controllers the supervisor uses. `cpuacct` only exists in v1 (v2's `cpu.stat` counts usage).
enum CgroupController: String, CaseIterable, Sendable {
    case cpu, cpuacct, memory, pids
}

/// Where each controller is for this supervisor: a directory of its own (`switchboard-<pid>`) under the
/// supervisor's cgroup, in the v2 hierarchy when v2 offers the controller, else in the controller's v1
/// hierarchy. Replicas get a child cgroup each.
struct CgroupHierarchy: Sendable {
    struct Placement: Sendable, Equatable {
        let version: CgroupVersion
        /// The supervisor's directory that replica cgroups are created in.
        let directory: String
    }

    private(set) var placements: [CgroupController: Placement] = [:]
    /// Why a controller is not used, by controller.
    private(set) var unavailable: [CgroupController: String] = [:]

    /// No cgroups at all (e.g. in tests that do not want them).
    static let none = CgroupHierarchy()

    /// Looks at this process's mounts and cgroups and prepares the supervisor's directories.
    static func detect(name: String = "switchboard-\(getpid())") -> CgroupHierarchy {
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        return detect(name: name, mountinfo: mountinfo, membership: membership, pid: getpid())
    }

    /// The same from given `/proc/self/mountinfo` and `/proc/self/cgroup` texts.
    static func detect(name: String, mountinfo: String, membership: String, pid: pid_t) -> CgroupHierarchy {
        var hierarchy = CgroupHierarchy()
        var v2Mount: (root: String, point: String)?
        var v1Mounts: [CgroupController: (root: String, point: String)] = [:]
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ").map(String.init)
            let right = halves[1].split(separator: " ").map(String.init)
            guard left.count >= 5, right.count >= 3 else { continue }
            let mount = (root: unescape(left[3]), point: unescape(left[4]))
            if right[0] == "cgroup2" {
                v2Mount = v2Mount ?? mount
            } else if right[0] == "cgroup" {
                for option in right[2].split(separator: ",") {
                    if let controller = CgroupController(rawValue: String(option)), v1Mounts[controller] == nil { v1Mounts[controller] = mount }
                }
            }
        }
        var v2Path: String?
        var v1Paths: [CgroupController: String] = [:]
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                v2Path = fields[2]
            } else {
                for controller in fields[1].split(separator: ",") {
                    if let known = CgroupController(rawValue: String(controller)) { v1Paths[known] = fields[2] }
                }
            }
        }
        // cgroup v2 first: the controllers the supervisor's own cgroup offers.
        var v2Offered: Set<CgroupController> = []
        var v2Directory: String?
        if let mount = v2Mount, let path = v2Path, let own = join(mount, path) {
            let listed = (try? String(contentsOfFile: own + "/cgroup.controllers", encoding: .utf8)) ?? ""
            v2Offered = Set(listed.split(whereSeparator: \.isWhitespace).compactMap { CgroupController(rawValue: String($0)) })
            v2Offered.remove(.cpuacct)
            if !v2Offered.isEmpty {
                removeStale(in: own, name: name)
                switch delegate(own: own, isRoot: path == "/", name: name, controllers: v2Offered.sorted { $0.rawValue < $1.rawValue }, pid: pid) {
                case .success(let directory): v2Directory = directory
                case .failure(let problem):
                    for controller in v2Offered { hierarchy.unavailable[controller] = problem.description }
                    v2Offered = []
                }
            }
        }
        for controller in CgroupController.allCases {
            if v2Offered.contains(controller), let v2Directory {
                hierarchy.placements[controller] = Placement(version: .v2, directory: v2Directory)
                hierarchy.unavailable[controller] = nil
                continue
            }
            // v2 counts CPU time in cpu.stat; cpuacct is only wanted beside a v1 cpu controller.
            if controller == .cpuacct && hierarchy.placements[.cpu]?.version == .v2 { continue }
            guard let mount = v1Mounts[controller], let path = v1Paths[controller], let own = join(mount, path) else {
                if hierarchy.unavailable[controller] == nil {
                    hierarchy.unavailable[controller] = "no cgroup v2 or v1 hierarchy offers the \(controller.rawValue) controller"
                }
                continue
            }
            removeStale(in: own, name: name)
            let directory = own + "/" + name
            if let problem = makeDirectory(directory) {
                hierarchy.unavailable[controller] = hierarchy.unavailable[controller].map { "\($0); v1: \(problem)" } ?? "cgroup v1: \(problem)"
                continue
            }
            hierarchy.placements[controller] = Placement(version: .v1, directory: directory)
            hierarchy.unavailable[controller] = nil
        }
        return hierarchy
    }

    /// The placement for a controller, if it is usable.
    func placement(_ controller: CgroupController) -> Placement? { placements[controller] }

    /// Removes the supervisor's own directories (replica cgroups must be gone already).
    func remove() {
        for directory in Set(placements.values.map(\.directory)) {
            CgroupHierarchy.removeTree(directory)
        }
    }

    // MARK: Replica cgroups

    /// Creates a replica's cgroup in every usable hierarchy and applies `limits`; says for every limit
    /// whether it is enforced and how, or why not.
    func makeReplicaCgroup(name: String, limits: ResourceLimits) -> (cgroup: ReplicaCgroup?, report: [LimitStatus]) {
        var directories: [CgroupController: ReplicaCgroup.Directory] = [:]
        var failures: [CgroupController: String] = [:]
        var created: Set<String> = []
        for (controller, placement) in placements {
            let path = placement.directory + "/" + name
            if !created.contains(path) {
                if let problem = Self.makeDirectory(path) {
                    failures[controller] = problem
                    continue
                }
                created.insert(path)
            }
            directories[controller] = ReplicaCgroup.Directory(version: placement.version, path: path)
        }
        var report: [LimitStatus] = []
        let values = Dictionary(limits.described, uniquingKeysWith: { a, _ in a })
        for controller in [CgroupController.cpu, .memory, .pids] {
            let version = directories[controller]?.version ?? placements[controller]?.version ?? .v2
            let writes = limits.writes(for: controller, version: version)
            var names: [String] = []
            for write in writes where !names.contains(write.limit) { names.append(write.limit) }
            guard let directory = directories[controller] else {
                let reason = failures[controller] ?? unavailable[controller] ?? "the \(controller.rawValue) controller is not available"
                report += names.map { LimitStatus(limit: $0, value: values[$0] ?? "", enforced: false, detail: reason) }
                continue
            }
            var problems: [String: String] = [:]
            var written: [String: [String]] = [:]
            for write in writes {
                let file = directory.path + "/" + write.file
                if !FileManager.default.fileExists(atPath: file) {
                    problems[write.limit] = problems[write.limit] ?? "\(write.file) does not exist (the kernel does not offer this limit)"
                } else if let error = Self.write(write.value, to: file) {
                    problems[write.limit] = problems[write.limit] ?? "writing \(write.value) to \(write.file) failed: \(error)"
                } else {
                    written[write.limit, default: []].append("\(write.file)=\(write.value)")
                }
            }
            for name in names {
                if let problem = problems[name] {
                    report.append(LimitStatus(limit: name, value: values[name] ?? "", enforced: false, detail: problem))
                } else {
                    let files = (written[name] ?? []).joined(separator: ", ")
                    report.append(LimitStatus(limit: name, value: values[name] ?? "", enforced: true, detail: "\(files) (cgroup \(directory.version.rawValue))"))
                }
            }
        }
        if let reserved = limits.reservedNanoCPUs {
            report.append(LimitStatus(
                limit: "cpu reservation", value: ResourceLimits.trim(Double(reserved) / 1e9), enforced: false,
                detail: "scheduling only: Swarm places tasks by it and the engine sets no cgroup value"
            ))
        }
        let cgroup = directories.isEmpty ? nil : ReplicaCgroup(name: name, directories: directories)
        return (cgroup, report)
    }

    // MARK: File system

    /// cgroup v2's "no internal processes" rule: controllers reach child cgroups only through a cgroup
    /// without processes of its own. The root cgroup is exempt; elsewhere the supervisor moves itself into
    /// a leaf (`<name>/supervisor`) — possible only when no other process shares its cgroup.
    private static func delegate(own: String, isRoot: Bool, name: String, controllers: [CgroupController], pid: pid_t) -> Result<String, StackError> {
        let directory = own + "/" + name
        if let problem = makeDirectory(directory) { return .failure(StackError("cgroup v2: \(problem)")) }
        let enable = controllers.map { "+\($0.rawValue)" }.joined(separator: " ")
        if !isRoot {
            let members = ((try? String(contentsOfFile: own + "/cgroup.procs", encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { pid_t($0) }.filter { $0 != pid }
            guard members.isEmpty else {
                removeTree(directory)
                return .failure(StackError(
                    "cgroup v2: \(own) holds other processes (\(members.count)), so its controllers cannot be handed to replica cgroups; run the supervisor in a cgroup of its own (e.g. systemd-run --scope -p Delegate=yes)"
                ))
            }
            let leaf = directory + "/supervisor"
            if let problem = makeDirectory(leaf) { return .failure(StackError("cgroup v2: \(problem)")) }
            if let error = write(String(pid), to: leaf + "/cgroup.procs") {
                return .failure(StackError("cgroup v2: cannot move the supervisor into \(leaf): \(error)"))
            }
        }
        if let error = write(enable, to: own + "/cgroup.subtree_control") {
            return .failure(StackError("cgroup v2: cannot enable \(enable) in \(own)/cgroup.subtree_control: \(error)"))
        }
        if let error = write(enable, to: directory + "/cgroup.subtree_control") {
            return .failure(StackError("cgroup v2: cannot enable \(enable) in \(directory)/cgroup.subtree_control: \(error)"))
        }
        return .success(directory)
    }

    /// Removes `switchboard-<pid>` directories of supervisors that are no longer running.
    private static func removeStale(in directory: String, name: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries where entry.hasPrefix("switchboard-") && entry != name {
            guard let pid = pid_t(entry.dropFirst("switchboard-".count)), !ProcessTable.isAlive(pid) else { continue }
            removeTree(directory + "/" + entry)
        }
    }

    /// Kills what is left in a cgroup tree and removes it, deepest first.
    static func removeTree(_ directory: String) {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for entry in entries {
                var isDirectory: ObjCBool = false
                let path = directory + "/" + entry
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { removeTree(path) }
            }
        }
        ReplicaCgroup.killMembers(of: directory)
        rmdir(directory)
    }

    private static func makeDirectory(_ path: String) -> String? {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return nil }
        return "cannot create \(path): \(String(cString: strerror(errno)))"
    }

    /// Writes a value the way the kernel wants it: one write(2); returns the error text on failure.
    static func write(_ value: String, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        return written == bytes.count ? nil : String(cString: strerror(errno))
    }

    private static func join(_ mount: (root: String, point: String), _ path: String) -> String? {
        if mount.root == "/" { return path == "/" ? mount.point : mount.point + path }
        guard path == mount.root || path.hasPrefix(mount.root + "/") else { return nil }
        return mount.point + path.dropFirst(mount.root.count)
    }

    /// mountinfo escapes spaces and other characters as octal (`\040`).
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var result = ""
        var index = field.startIndex
        while index < field.endIndex {
            if field[index] == "\\", let end = field.index(index, offsetBy: 4, limitedBy: field.endIndex),
                let code = UInt8(field[field.index(after: index)..<end], radix: 8)
            {
                result.append(Character(UnicodeScalar(code)))
                index = end
            } else {
                result.append(field[index])
                index = field.index(after: index)
            }
        }
        return result
    }
}
