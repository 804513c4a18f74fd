/// The request id of the current task: set by ``RequestIDMiddleware`` for each request, read by
/// ``ServiceClient`` so that downstream calls carry the same `X-Request-ID`.
public enum RequestID {
    @TaskLocal public static var current: String?

    /// A new random id: 24 lowercase hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt32
        return hex(high, digits: 16) + hex(UInt64(low), digits: 8)
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
