import Logging
import Synchronization

/// The request id of the current task: set by ``RequestIDMiddleware`` for each request, read by
/// ``ServiceClient`` so that downstream calls carry the same `X-Request-ID`.
public enum RequestID {
    @TaskLocal public static var current: String?

    /// Random per process, so that ids from different processes differ.
    private static let seed: (UInt64, UInt32) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    /// A new id: 24 lowercase hex digits, unique within the process (a bijective mix of a counter)
    /// and unlikely to repeat across processes (a random salt), without a system call per id.
    public static func generate() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return String(unsafeUninitializedCapacity: 24) { buffer in
            write(mix(seed.0 &+ count), digits: 16, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<16]))
            write(UInt64(seed.1), digits: 8, into: UnsafeMutableBufferPointer(rebasing: buffer[16..<24]))
            return 24
        }
    }

    /// SplitMix64's finaliser: a bijection, so distinct counters give distinct ids.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether a client-supplied id is acceptable: 1–128 visible ASCII characters.
    public static func isValid(_ id: Substring) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// The low `digits` hex digits of `value`, zero-padded, in lower case.
    private static func write(_ value: UInt64, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            let digit = UInt8(truncatingIfNeeded: rest & 0xF)
            buffer[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            rest >>= 4
        }
    }
}

extension Logger.MetadataProvider {
    /// `request_id`: the ``RequestID/current`` of the task that writes a log line, whichever logger it uses.
    public static let requestID = Logger.MetadataProvider {
        RequestID.current.map { ["request_id": .string($0)] } ?? [:]
    }
}
