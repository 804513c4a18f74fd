import Foundation

/// Resource use of this process read from /proc, in the standard `process_*` metric names.
public struct ProcessStatistics: Sendable {
    public var cpuSeconds: Double = 0
    public var residentBytes: Int64 = 0
    public var virtualBytes: Int64 = 0
    public var openFileDescriptors: Int = 0
    public var maxFileDescriptors: Int = 0
    public var startTimeSeconds: Double = 0
    public var threads: Int = 0
    /// The memory limit of the process's own cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`), when one is set.
    public var memoryLimitBytes: Int64?

    public static func current() -> ProcessStatistics {
        of(pid: getpid())
    }

    /// Statistics of any process this one may read.
    public static func of(pid: pid_t) -> ProcessStatistics {
        var stats = ProcessStatistics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after "(comm)": state is field 3; utime 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double { Double(fields[safe: number - 3] ?? "0") ?? 0 }
            stats.cpuSeconds = (field(14) + field(15)) / ticks
            stats.threads = Int(field(20))
            stats.virtualBytes = Int64(field(23))
            stats.residentBytes = Int64(field(24)) * pageSize
            stats.startTimeSeconds = bootTime() + field(22) / ticks
        }
        stats.openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        stats.memoryLimitBytes = memoryLimit(pid: pid)
        var limit = rlimit()
        if pid == getpid(), getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            stats.maxFileDescriptors = Int(limit.rlim_cur)
        }
        return stats
    }

    /// Reads the memory limit of `pid`'s cgroup from /proc/<pid>/cgroup and the mounted hierarchies.
    /// "max", absent files and the v1 "unlimited" sentinel mean no limit.
    static func memoryLimit(pid: pid_t) -> Int64? {
        guard let membership = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        var candidates: [String] = []
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty {
                candidates += ["/sys/fs/cgroup\(path)/memory.max", "/sys/fs/cgroup/unified\(path)/memory.max"]
            } else if fields[1].split(separator: ",").contains("memory") {
                candidates.append("/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes")
            }
        }
        for file in candidates {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // cgroup v1 reports "no limit" as a huge page-rounded number.
            if let bytes = Int64(value), bytes < (1 << 62) { return bytes }
        }
        return nil
    }

    private static func bootTime() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6)) ?? 0
        }
        return 0
    }

    /// Prometheus text exposition of these figures.
    public var exposition: String {
        """
        # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total \(cpuSeconds)
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes \(residentBytes)
        # HELP process_virtual_memory_bytes Virtual memory size in bytes.
        # TYPE process_virtual_memory_bytes gauge
        process_virtual_memory_bytes \(virtualBytes)
        # HELP process_open_fds Number of open file descriptors.
        # TYPE process_open_fds gauge
        process_open_fds \(openFileDescriptors)
        # HELP process_max_fds Maximum number of open file descriptors.
        # TYPE process_max_fds gauge
        process_max_fds \(maxFileDescriptors)
        # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
        # TYPE process_start_time_seconds gauge
        process_start_time_seconds \(startTimeSeconds)
        # HELP process_threads Number of OS threads in the process.
        # TYPE process_threads gauge
        process_threads \(threads)

        """ + (memoryLimitBytes.map {
            """
            # HELP switchboard_process_memory_limit_bytes Memory limit of the process's cgroup.
            # TYPE switchboard_process_memory_limit_bytes gauge
            switchboard_process_memory_limit_bytes \($0)

            """
        } ?? "")
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
