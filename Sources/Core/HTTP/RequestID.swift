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
        return hex(mix(seed.0 &+ count), digits: 16) + hex(UInt64(seed.1), digits: 8)
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

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
