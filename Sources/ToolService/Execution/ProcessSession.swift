import CDispatch
import Foundation
import Synchronization
import SwitchboardCore

/// A process started with `start_process`: it keeps running after the call returns, its output is
/// kept in a bounded line buffer (oldest lines dropped first) and read by line offset, it can be
/// given input and terminated. Work longer than a client's request timeout is started, then polled.
final class ProcessSession: Sendable {
    let pid: Int32
    let principal: String
    let command: String
    let started: Date
    let launched: LaunchedCommand

    private struct State {
        var lines: [String] = []
        /// Absolute number of `lines[0]` (lines before it were dropped).
        var firstLine = 0
        var partial: [UInt8] = []
        var bytes = 0
        /// Absolute line after the last "since last read".
        var cursor = 0
        var status: ExitStatus?
        var endedBy: String?
        var finished: Date?
        var execution: JSONValue?
        /// Bumped on every change, for waiters.
        var version = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    static let maxLine = 64 * 1024

    init(pid: Int32, principal: String, command: String, launched: LaunchedCommand, capacity: Int) {
        self.pid = pid
        self.principal = principal
        self.command = command
        self.launched = launched
        self.capacity = max(capacity, 4096)
        started = Date()
    }

    // MARK: Output

    func append(_ chunk: [UInt8]) {
        state.withLock { state in
            for byte in chunk {
                if byte == 10 || state.partial.count >= Self.maxLine {
                    let line = String(decoding: state.partial, as: UTF8.self)
                    state.lines.append(line)
                    state.bytes += state.partial.count + 1
                    state.partial.removeAll(keepingCapacity: true)
                    if byte == 10 { continue }
                }
                state.partial.append(byte)
            }
            while state.bytes > capacity, !state.lines.isEmpty {
                state.bytes -= state.lines.removeFirst().utf8.count + 1
                state.firstLine += 1
            }
            state.version += 1
        }
    }

    /// Lines read from the buffer.
    struct Read: Sendable {
        let lines: [String]
        /// Absolute number of the first line returned.
        let firstLine: Int
        /// Absolute line after the last complete line returned.
        let nextOffset: Int
        /// Complete lines printed so far (including dropped ones).
        let totalLines: Int
        /// Lines no longer in the buffer.
        let droppedLines: Int
        let status: ExitStatus?
        let endedBy: String?
    }

    /// `offset` 0: what is new since the last such read; > 0: from that absolute line; < 0: the last
    /// `-offset` lines. At most `length` lines; an unfinished last line is shown but not consumed.
    func read(offset: Int, length: Int) -> Read {
        state.withLock { state in
            let total = state.firstLine + state.lines.count
            let start: Int
            switch offset {
            case 0: start = max(state.cursor, state.firstLine)
            case 1...: start = max(offset, state.firstLine)
            default: start = max(total + offset, state.firstLine)
            }
            let end = min(total, start + length)
            var lines = start < end ? Array(state.lines[(start - state.firstLine)..<(end - state.firstLine)]) : []
            if end == total, !state.partial.isEmpty, lines.count < length { lines.append(String(decoding: state.partial, as: UTF8.self)) }
            if offset == 0 { state.cursor = max(state.cursor, end) }
            return Read(
                lines: lines, firstLine: min(start, total), nextOffset: max(end, start), totalLines: total, droppedLines: state.firstLine,
                status: state.status, endedBy: state.endedBy
            )
        }
    }

    var version: Int { state.withLock { $0.version } }
    var status: ExitStatus? { state.withLock { $0.status } }
    var finished: Date? { state.withLock { $0.finished } }
    var endedBy: String? { state.withLock { $0.endedBy } }
    var execution: JSONValue? { state.withLock { $0.execution } }
    var hasUnreadOutput: Bool { state.withLock { $0.firstLine + $0.lines.count > $0.cursor || !$0.partial.isEmpty } }

    /// Waits until the output or the state changes after `version`, the process ends, or `timeout` passes.
    func waitForChange(after version: Int, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let (current, ended) = state.withLock { ($0.version, $0.finished != nil) }
            if current != version || ended { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    func finish(status: ExitStatus, endedBy: String?, execution: JSONValue) {
        state.withLock { state in
            if !state.partial.isEmpty {
                state.lines.append(String(decoding: state.partial, as: UTF8.self))
                state.partial = []
            }
            state.status = status
            state.endedBy = endedBy
            state.execution = execution
            state.finished = Date()
            state.version += 1
        }
    }

    func markEnding(_ reason: String) -> Bool {
        state.withLock { state in
            guard state.endedBy == nil, state.finished == nil else { return false }
            state.endedBy = reason
            return true
        }
    }

    // MARK: Input

    /// Writes `bytes` to the process's stdin, waiting at most `timeout` for room in the pipe.
    func send(_ bytes: [UInt8], close closeAfter: Bool, timeout: Duration) async throws {
        guard let handle = launched.child.stdin else { throw ToolFailure("process \(pid) has no open input") }
        guard finished == nil else { throw ToolFailure("process \(pid) has ended") }
        let descriptor = handle.fileDescriptor
        try await Blocking.run {
            let flags = fcntl(descriptor, F_GETFL)
            _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
            var offset = 0
            let deadline = ContinuousClock.now + timeout
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
                if written >= 0 {
                    offset += written
                    continue
                }
                switch errno {
                case EINTR: continue
                case EAGAIN:
                    let remaining = deadline - ContinuousClock.now
                    guard remaining > .zero else { throw ToolFailure("process \(self.pid) is not reading its input (\(offset) of \(bytes.count) bytes written)") }
                    var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&poller, 1, Int32(min(remaining.milliseconds, 1000)))
                case EPIPE, EBADF: throw ToolFailure("process \(self.pid) has closed its input")
                default: throw ToolFailure("writing to process \(self.pid) failed: \(String(cString: strerror(errno)))")
                }
            }
        }
        if closeAfter { try? handle.close() }
    }

    // MARK: Description

    func summary() -> JSONValue {
        let (status, endedBy, finished, total) = state.withLock { ($0.status, $0.endedBy, $0.finished, $0.firstLine + $0.lines.count) }
        var members: [(key: String, value: JSONValue)] = [
            ("pid", .int(Int64(pid))), ("command", .string(command)), ("running", .bool(status == nil)),
            ("started", .string(Timestamp.rfc3339(secondsSinceEpoch: started.timeIntervalSince1970))),
            ("runtime_ms", .double(((finished ?? Date()).timeIntervalSince(started) * 1000).rounded())), ("output_lines", .int(Int64(total))),
        ]
        members += Self.statusMembers(status, endedBy: endedBy)
        return .object(members)
    }

    static func statusMembers(_ status: ExitStatus?, endedBy: String?) -> [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = []
        switch status {
        case .exited(let code)?: members.append(("exit_code", .int(Int64(code))))
        case .signaled(let signal)?: members.append(("signal", .string(ExitStatus.signalName(signal))))
        case nil: break
        }
        if let endedBy, status != nil { members.append(("terminated_by", .string(endedBy))) }
        return members
    }
}
