import Foundation

/// Reads a pipe without blocking a thread: a dispatch read source delivers chunks into an AsyncStream,
/// which finishes at EOF. The descriptor is closed when the stream ends or is abandoned.
public enum PipeReader {
    public static func stream(fd: Int32, chunkSize: Int = 64 * 1024) -> AsyncStream<[UInt8]> {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "switchboard.pipe"))
        source.setEventHandler {
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
                // Read until the pipe is empty: returning after a short read can miss an EOF that
                // arrived meanwhile (libdispatch does not always report the hang-up again).
                if count > 0 {
                    continuation.yield(Array(buffer[0..<count]))
                } else if count == 0 {
                    source.cancel()
                    return
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    return
                } else if errno != EINTR {
                    source.cancel()
                    return
                }
            }
        }
        source.setCancelHandler {
            close(fd)
            continuation.finish()
        }
        let box = UncheckedBox(source)
        continuation.onTermination = { reason in
            if case .cancelled = reason { box.value.cancel() }
        }
        source.resume()
        return stream
    }
}

/// Splits a byte stream into lines (without the newline), holding back a trailing partial line.
/// Lines longer than `maxLine` are cut into pieces so one endless line cannot exhaust memory.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []
    private let maxLine: Int

    public init(maxLine: Int = 16 * 1024) {
        self.maxLine = maxLine
    }

    public mutating func feed(_ chunk: [UInt8]) -> [String] {
        var lines: [String] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= maxLine {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// The partial last line, if any.
    public mutating func flush() -> String? {
        guard !pending.isEmpty else { return nil }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// Carries a value the compiler cannot prove Sendable across a concurrency boundary.
/// Only for values that are thread-safe themselves (dispatch sources, file handles).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
