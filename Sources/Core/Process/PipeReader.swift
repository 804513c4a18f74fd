import Foundation

/// Reads a pipe without blocking a thread: ``DescriptorMonitor`` delivers chunks into an AsyncStream,
/// which finishes at EOF. The descriptor is closed when the stream ends or is abandoned.
public enum PipeReader {
    public static func stream(fd: Int32, chunkSize: Int = 64 * 1024) -> AsyncStream<[UInt8]> {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        let monitor = DescriptorMonitor.shared
        let watch = monitor.watch(
            fd,
            readable: { fd in
                var buffer = [UInt8](repeating: 0, count: chunkSize)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
                    // Read until the pipe is empty, so that an EOF behind the data is seen now.
                    if count > 0 {
                        continuation.yield(Array(buffer[0..<count]))
                    } else if count == 0 {
                        return false
                    } else if errno == EAGAIN || errno == EWOULDBLOCK {
                        return true
                    } else if errno != EINTR {
                        return false
                    }
                }
            },
            ended: { continuation.finish() }
        )
        continuation.onTermination = { reason in
            if case .cancelled = reason { monitor.cancel(watch) }
        }
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
