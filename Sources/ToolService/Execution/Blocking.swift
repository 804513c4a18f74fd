import Foundation
import SwitchboardCore

/// Runs blocking system calls (file I/O, directory walks, pipe writes) off the cooperative thread pool,
/// on a pool of up to 64 dedicated threads, so that a slow job (a big search) never holds up others.
/// A custom concurrent dispatch queue would not do: it runs on as many threads as there are CPUs.
enum Blocking {
    private static let pool = BlockingPool(maxThreads: 64)

    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await EventLoopExecutor.awaitElsewhere { deliver in pool.submit { deliver(Result { try body() }) } }.get()
    }
}

/// Threads that take jobs from one queue; a new thread starts when a job arrives and none is idle.
final class BlockingPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var threads = 0
    private var idle = 0
    private let maxThreads: Int

    init(maxThreads: Int) {
        self.maxThreads = maxThreads
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        let start = idle == 0 && threads < maxThreads
        if start { threads += 1 }
        condition.signal()
        condition.unlock()
        if start {
            let thread = Thread { [self] in work() }
            thread.name = "switchboard-blocking"
            thread.start()
        }
    }

    private func work() {
        while true {
            condition.lock()
            idle += 1
            while jobs.isEmpty { condition.wait() }
            idle -= 1
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

extension Duration {
    /// Milliseconds, rounded to the microsecond.
    var milliseconds: Double {
        let parts = components
        return (Double(parts.seconds) * 1e6 + Double(parts.attoseconds) / 1e12).rounded() / 1000
    }
}
