import Foundation
import Glibc


/// RFC 3339 UTC timestamps with milliseconds ("2026-11-21T22:13:35.123Z"), formatted without
/// Foundation's date formatters, which cost more than the rest of a log line or audit record.
public enum Timestamp {
    /// Now.
    public static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return rfc3339(seconds: Int(now.tv_sec), nanoseconds: Int(now.tv_nsec))
    }

    /// A point given as seconds since the epoch (fractions kept to the millisecond).
    public static func rfc3339(secondsSinceEpoch: Double) -> String {
        let seconds = secondsSinceEpoch.rounded(.down)
        return rfc3339(seconds: Int(seconds), nanoseconds: Int((secondsSinceEpoch - seconds) * 1e9))
    }

    public static func rfc3339(seconds: Int, nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = [UInt8]()
        text.reserveCapacity(24)
        func append(_ value: Int32, _ width: Int, then separator: UInt8?) {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var rest = Int(value)
            for index in stride(from: width - 1, through: 0, by: -1) {
                digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            text += digits
            if let separator { text.append(separator) }
        }
        append(parts.tm_year + 1900, 4, then: UInt8(ascii: "-"))
        append(parts.tm_mon + 1, 2, then: UInt8(ascii: "-"))
        append(parts.tm_mday, 2, then: UInt8(ascii: "T"))
        append(parts.tm_hour, 2, then: UInt8(ascii: ":"))
        append(parts.tm_min, 2, then: UInt8(ascii: ":"))
        append(parts.tm_sec, 2, then: UInt8(ascii: "."))
        append(Int32(nanoseconds / 1_000_000), 3, then: UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}
