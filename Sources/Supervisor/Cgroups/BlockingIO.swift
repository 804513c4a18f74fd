import Dispatch

/// Runs blocking file-system work (cgroup files, /proc) on a thread of its own, never on the
/// cooperative pool.
enum BlockingIO {
    private static let queue = DispatchQueue(label: "switchboard.supervisor.blocking-io")

    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
