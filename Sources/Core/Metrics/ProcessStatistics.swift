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
        var limit = rlimit()
        if pid == getpid(), getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            stats.maxFileDescriptors = Int(limit.rlim_cur)
        }
        return stats
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

        """
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
