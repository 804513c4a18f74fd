#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process's standard output or error, written with `write(2)`.
///
/// A reader that went away (the closed pipe of a healthcheck the supervisor gave up on, `switchboard up | head`)
/// loses the text; the process goes on. `FileHandle.write(_:)` would trap on that `EPIPE` and take the process down.
public enum StandardStream: Int32, Sendable {
    case output = 1
    case error = 2

    /// Writes `text` in as few `write(2)` calls as the descriptor takes; errors are ignored.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { Self.write(UnsafeRawBufferPointer($0), to: rawValue) }
    }

    /// Writes all of `bytes` to `descriptor` unless it fails (a closed pipe, a full disk): then the rest is dropped.
    public static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
