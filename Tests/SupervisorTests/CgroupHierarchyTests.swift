import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// Whether this machine gives the tests real, writable cgroups; the reason when it does not.
enum MachineCgroups {
    static let memory: (available: Bool, reason: String) = probe(.memory)
    static let all: (available: Bool, reason: String) = {
        for controller in [CgroupController.cpu, .memory, .pids] {
            let result = probe(controller)
            if !result.available { return result }
        }
        return (true, "")
    }()

    private static func probe(_ controller: CgroupController) -> (available: Bool, reason: String) {
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-probe-\(getpid())-\(controller.rawValue)")
        defer { hierarchy.remove() }
        if hierarchy.placement(controller) != nil { return (true, "") }
        let reason = "skipped: no writable cgroup \(controller.rawValue) controller here (\(hierarchy.unavailable[controller] ?? "unknown"))"
        print(reason)
        return (false, reason)
    }
}

struct CgroupHierarchyTests {
    /// A directory tree laid out like a cgroup file system, for the parts the kernel is not needed for.
    private func fakeTree(_ files: [String: String]) throws -> URL {
        let root = TestEnvironment.temporaryDirectory("fake-cgroup")
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: false, encoding: .utf8)
        }
        return root
    }

    private func read(_ root: URL, _ path: String) -> String {
        (try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)) ?? "(missing)"
    }

    private let limits = try! ResourceLimits(
        ComposeService.Resources(nanoCPUs: 500_000_000, memory: 64 << 20, pids: 64, reservedMemory: 16 << 20), cpuCount: 4, service: "web"
    )

    @Test func cgroupV2DelegatesFromALeafAndWritesTheV2Files() throws {
        let root = try fakeTree([
            "sup/cgroup.controllers": "cpuset cpu io memory pids\n", "sup/cgroup.procs": "4242\n", "sup/cgroup.subtree_control": "",
            "sup/switchboard-t/cgroup.subtree_control": "", "sup/switchboard-t/supervisor/cgroup.procs": "",
            "sup/switchboard-t/web.1.7/cpu.max": "", "sup/switchboard-t/web.1.7/memory.max": "", "sup/switchboard-t/web.1.7/memory.low": "",
            "sup/switchboard-t/web.1.7/pids.max": "",
        ])
        let mountinfo = "30 25 0:26 / \(root.path) rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n"
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-t", mountinfo: mountinfo, membership: "0::/sup\n", pid: 4242)
        #expect(hierarchy.placement(.cpu) == .init(version: .v2, directory: root.path + "/sup/switchboard-t"))
        #expect(hierarchy.placement(.memory)?.version == .v2)
        #expect(hierarchy.placement(.pids)?.version == .v2)
        #expect(hierarchy.placement(.cpuacct) == nil)
        // The supervisor moved itself into a leaf, then handed the controllers down.
        #expect(read(root, "sup/switchboard-t/supervisor/cgroup.procs") == "4242")
        #expect(read(root, "sup/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(read(root, "sup/switchboard-t/cgroup.subtree_control") == "+cpu +memory +pids")

        let (cgroup, report) = hierarchy.makeReplicaCgroup(name: "web.1.7", limits: limits)
        #expect(cgroup?.procsFiles == [root.path + "/sup/switchboard-t/web.1.7/cgroup.procs"])
        #expect(read(root, "sup/switchboard-t/web.1.7/cpu.max") == "50000 100000")
        #expect(read(root, "sup/switchboard-t/web.1.7/memory.max") == "67108864")
        #expect(read(root, "sup/switchboard-t/web.1.7/memory.low") == "16777216")
        #expect(read(root, "sup/switchboard-t/web.1.7/pids.max") == "64")
        let byLimit = Dictionary(uniqueKeysWithValues: report.map { ($0.limit, $0) })
        #expect(byLimit["cpus"]?.enforced == true)
        #expect(byLimit["cpus"]?.detail == "cpu.max=50000 100000 (cgroup v2)")
        #expect(byLimit["memory"]?.enforced == true)
        // This "kernel" has no swap accounting: the limit is reported as not enforced, with why.
        #expect(byLimit["swap"]?.enforced == false)
        #expect(byLimit["swap"]?.detail == "memory.swap.max does not exist (the kernel does not offer this limit)")
        #expect(byLimit["cpu reservation"] == nil)
    }

    @Test func cgroupV2IsNotUsedWhenOtherProcessesShareTheSupervisorsCgroup() throws {
        let root = try fakeTree(["sup/cgroup.controllers": "cpu memory pids\n", "sup/cgroup.procs": "4242\n777\n", "sup/cgroup.subtree_control": ""])
        let mountinfo = "30 25 0:26 / \(root.path) rw - cgroup2 cgroup2 rw\n"
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-t", mountinfo: mountinfo, membership: "0::/sup\n", pid: 4242)
        #expect(hierarchy.placements.isEmpty)
        #expect(hierarchy.unavailable[.memory]?.contains("holds other processes (1)") == true)
        let (cgroup, report) = hierarchy.makeReplicaCgroup(name: "web.1.1", limits: limits)
        #expect(cgroup == nil)
        #expect(report.allSatisfy { !$0.enforced })
        #expect(report.first { $0.limit == "memory" }?.detail.contains("holds other processes") == true)
    }

    @Test func cgroupV1IsUsedPerControllerWhereV2DoesNotOfferIt() throws {
        let root = try fakeTree([
            "unified/cgroup.controllers": "hugetlb\n",
            "cpu/grp/switchboard-t/web.1.1/cpu.cfs_period_us": "", "cpu/grp/switchboard-t/web.1.1/cpu.cfs_quota_us": "",
            "memory/grp/switchboard-t/web.1.1/memory.limit_in_bytes": "", "memory/grp/switchboard-t/web.1.1/memory.memsw.limit_in_bytes": "",
            "memory/grp/switchboard-t/web.1.1/memory.soft_limit_in_bytes": "", "pids/grp/switchboard-t/web.1.1/pids.max": "",
            "cpuacct/grp/.keep": "",
        ])
        let mountinfo = """
            30 25 0:26 / \(root.path)/unified rw - cgroup2 cgroup2 rw
            31 25 0:27 / \(root.path)/cpu rw - cgroup cgroup rw,cpu
            32 25 0:28 / \(root.path)/cpuacct rw - cgroup cgroup rw,cpuacct
            33 25 0:29 / \(root.path)/memory rw - cgroup cgroup rw,memory
            34 25 0:30 / \(root.path)/pids rw - cgroup cgroup rw,pids

            """
        let membership = "8:pids:/grp\n4:memory:/grp\n2:cpuacct:/grp\n1:cpu:/grp\n0::/\n"
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-t", mountinfo: mountinfo, membership: membership, pid: 4242)
        #expect(hierarchy.placement(.cpu) == .init(version: .v1, directory: root.path + "/cpu/grp/switchboard-t"))
        #expect(hierarchy.placement(.cpuacct)?.version == .v1)
        #expect(hierarchy.placement(.memory)?.version == .v1)
        let (cgroup, report) = hierarchy.makeReplicaCgroup(name: "web.1.1", limits: limits)
        #expect(cgroup?.procsFiles.count == 4)
        #expect(read(root, "cpu/grp/switchboard-t/web.1.1/cpu.cfs_period_us") == "100000")
        #expect(read(root, "cpu/grp/switchboard-t/web.1.1/cpu.cfs_quota_us") == "50000")
        #expect(read(root, "memory/grp/switchboard-t/web.1.1/memory.limit_in_bytes") == "67108864")
        #expect(read(root, "memory/grp/switchboard-t/web.1.1/memory.memsw.limit_in_bytes") == "134217728")
        #expect(read(root, "memory/grp/switchboard-t/web.1.1/memory.soft_limit_in_bytes") == "16777216")
        #expect(read(root, "pids/grp/switchboard-t/web.1.1/pids.max") == "64")
        #expect(report.filter(\.enforced).map(\.limit) == ["cpus", "memory", "swap", "memory reservation", "pids"])
    }

    /// The machine's own cgroups: limits land in the kernel's files and a process started into the cgroup is counted.
    @Test(.enabled(if: MachineCgroups.all.available, Comment(rawValue: MachineCgroups.all.reason)))
    func realCgroupsTakeTheLimitsAndTheProcess() async throws {
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-test-\(UUID().uuidString.prefix(8))")
        defer { hierarchy.remove() }
        let (created, report) = hierarchy.makeReplicaCgroup(name: "web.1.1", limits: limits)
        let cgroup = try #require(created)
        #expect(report.first { $0.limit == "cpus" }?.enforced == true, "\(report)")
        #expect(report.first { $0.limit == "memory" }?.enforced == true, "\(report)")
        #expect(report.first { $0.limit == "pids" }?.enforced == true, "\(report)")
        let memory = try #require(cgroup.directories[.memory])
        let cpu = try #require(cgroup.directories[.cpu])
        let value = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        if memory.version == .v1 {
            #expect(value(memory.path + "/memory.limit_in_bytes") == "67108864")
            #expect(value(cpu.path + "/cpu.cfs_quota_us") == "50000")
        } else {
            #expect(value(memory.path + "/memory.max") == "67108864")
            #expect(value(cpu.path + "/cpu.max") == "50000 100000")
        }
        var launch = ProcessLaunch(executable: "/bin/sleep", arguments: ["30"])
        launch.cgroupProcs = cgroup.procsFiles
        let child = try await ChildProcess.spawn(launch)
        let membership = try String(contentsOfFile: "/proc/\(child.pid)/cgroup", encoding: .utf8)
        #expect(membership.contains("/web.1.1"))
        #expect(cgroup.members == [child.pid])
        let usage = cgroup.usage()
        #expect(usage.pids == 1)
        #expect(usage.cpuNanoseconds != nil)
        cgroup.remove()
        #expect(await child.wait() == .signaled(SIGKILL))
        #expect(!FileManager.default.fileExists(atPath: memory.path))
    }

    /// A replica of a running stack in real cgroups: the kernel throttles it at its `cpus`, reports its memory
    /// limit back, and `switchboard ps` shows the limits as enforced with the cgroup's usage.
    @Test(.enabled(if: MachineCgroups.all.available, Comment(rawValue: MachineCgroups.all.reason)))
    func aReplicaInRealCgroupsIsThrottledAndPsShowsItsEnforcedLimits() async throws {
        let yaml = """
            services:
              burner:
                x-switchboard: {command: [sh, -c, "while :; do :; done"]}
                stop_grace_period: 1s
                deploy:
                  resources: {limits: {cpus: '0.25', memory: 64M, pids: 32}}
            """
        let hierarchy = CgroupHierarchy.detect(name: "switchboard-test-\(UUID().uuidString.prefix(8))")
        try await StackHarness.with(yaml, cgroups: hierarchy) { harness in
            let record = try #require(await harness.tasks("burner").first)
            #expect(record.limits.filter { $0.limit != "cpu reservation" && !$0.enforced }.isEmpty, "\(record.limits)")
            let cpu = try #require(record.cgroup?.directories[.cpu])
            try await harness.waitUntil("the kernel to throttle the replica") { _ in
                let stat = (try? String(contentsOfFile: cpu.path + "/cpu.stat", encoding: .utf8)) ?? ""
                let throttled = stat.split(separator: "\n").first { $0.hasPrefix("nr_throttled ") }?.split(separator: " ").last.flatMap { Int($0) } ?? 0
                return throttled > 0
            }
            try await harness.waitUntil("a sample from the cgroup") { stack in
                await stack.replicas.first?.usage.map { $0.cpuCores != nil && $0.source.hasPrefix("cgroup") } ?? false
            }
            let usage = try #require(await harness.stack.replicas.first?.usage)
            #expect(usage.memoryLimit == 64 << 20)
            #expect(usage.pids == 1)
            let table = PsCommand.render(await ControlController.status(harness.stack))
            #expect(table.contains("/0.25 ("))
            #expect(table.contains("/64MiB ("))
            #expect(table.contains("1/32"))
            #expect(!table.contains("*"))
            #expect(!table.contains("limits not enforced"))
        }
    }
}
