import CSwitchboard
import Foundation
import Synchronization

/// Watches descriptors for readability (child pipes, pidfds) with `poll` on one dedicated thread.
///
/// Not libdispatch read sources: on Linux, libdispatch's epoll backend frees a source's muxnote on the
/// source's own queue when EPOLLHUP arrives (`_dispatch_event_merge_hangup` marks it for deletion and
/// wakes the source) while the manager thread is still inside `_dispatch_event_merge_fd` for the same
/// muxnote, so a pipe whose writer went away could crash the process in `_dispatch_event_loop_drain`.
/// Here every watch is added, served, removed and closed on the one monitor thread, so no descriptor is
/// closed while something still waits on it and a late cancel can never reach a reused descriptor number.
final class DescriptorMonitor: Sendable {
    /// Serves a readable (or hung-up) descriptor on the monitor thread; returns false to stop watching.
    typealias Readable = @Sendable (_ fd: Int32) -> Bool

    /// A registered watch; cancel it with ``cancel(_:)``.
    struct Watch: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        let fd: Int32
        let readable: Readable
        let ended: @Sendable () -> Void
    }

    private struct Pending {
        var nextID: UInt64 = 1
        var added: [(id: UInt64, entry: Entry)] = []
        var cancelled: [UInt64] = []
    }

    static let shared = DescriptorMonitor()

    private let pending = Mutex(Pending())
    /// Self-pipe that interrupts `poll` when watches are added or cancelled.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private init() {
        var fds: [Int32] = [-1, -1]
        precondition(sb_pipe(&fds) == 0, "cannot create the descriptor monitor's wake-up pipe")
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let thread = Thread { [self] in run() }
        thread.name = "switchboard-fd-monitor"
        thread.start()
    }

    /// Watches `fd`, which the monitor now owns: once `readable` returns false, the descriptor reports
    /// POLLNVAL, or the watch is cancelled, the monitor stops watching, closes `fd`, then calls `ended`.
    func watch(_ fd: Int32, readable: @escaping Readable, ended: @escaping @Sendable () -> Void = {}) -> Watch {
        let id = pending.withLock { state -> UInt64 in
            let id = state.nextID
            state.nextID += 1
            state.added.append((id, Entry(fd: fd, readable: readable, ended: ended)))
            return id
        }
        wake()
        return Watch(id: id)
    }

    /// Stops a watch and closes its descriptor; nothing happens when it has already ended.
    func cancel(_ watch: Watch) {
        pending.withLock { $0.cancelled.append(watch.id) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)  // EAGAIN: a wake-up is already pending.
    }

    private func run() {
        var entries: [UInt64: Entry] = [:]
        func end(_ id: UInt64, close shouldClose: Bool = true) {
            guard let entry = entries.removeValue(forKey: id) else { return }
            if shouldClose { close(entry.fd) }
            entry.ended()
        }
        var drain = [UInt8](repeating: 0, count: 64)
        while true {
            let (added, cancelled) = pending.withLock { state in
                defer {
                    state.added = []
                    state.cancelled = []
                }
                return (state.added, state.cancelled)
            }
            for (id, entry) in added { entries[id] = entry }
            for id in cancelled { end(id) }

            let ids = Array(entries.keys)
            var polled = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            polled += ids.map { pollfd(fd: entries[$0]!.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&polled, nfds_t(polled.count), -1) < 0 {
                if errno != EINTR { Thread.sleep(forTimeInterval: 0.01) }
                continue
            }
            if polled[0].revents != 0 {
                while drain.withUnsafeMutableBytes({ read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
            }
            for (index, id) in ids.enumerated() {
                let revents = Int32(polled[index + 1].revents)
                guard revents != 0, let entry = entries[id] else { continue }
                if revents & Int32(POLLNVAL) != 0 {
                    // Closed behind the monitor's back: the number is no longer ours to close.
                    end(id, close: false)
                } else if !entry.readable(entry.fd) {
                    end(id)
                }
            }
        }
    }
}
