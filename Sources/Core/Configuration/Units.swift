/// Compose's duration and byte-size grammars, shared by configuration and the compose loader.
public enum Units {
    /// Parses a compose duration: `{value}{unit}` repeated (`1m30s`, `500ms`, `1.5h`, `2d`), units
    /// ns us µs μs ms s m h d w, or a bare `0` (compose-go / go-str2duration semantics).
    public static func parseDuration(_ text: String) -> Duration? {
        var text = Substring(text.trimmingCharacters(in: " "))
        if text == "0" { return .zero }
        var negative = false
        if text.first == "-" || text.first == "+" {
            negative = text.first == "-"
            text = text.dropFirst()
        }
        guard !text.isEmpty else { return nil }
        var totalNanoseconds = 0.0
        var rest = text
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? rest.endIndex
            let numberText = rest[rest.startIndex..<numberEnd]
            guard !numberText.isEmpty, numberText != ".", let number = Double(numberText) else { return nil }
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex(where: { $0.isNumber || $0 == "." }) ?? rest.endIndex
            let unit = rest[rest.startIndex..<unitEnd]
            rest = rest[unitEnd...]
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86400e9
            case "w": scale = 604800e9
            default: return nil
            }
            totalNanoseconds += number * scale
        }
        guard totalNanoseconds < 9.2e18 else { return nil }
        let nanoseconds = Int64(totalNanoseconds)
        return .nanoseconds(negative ? -nanoseconds : nanoseconds)
    }

    /// Parses a compose byte size: a plain integer (bytes) or a number with a binary unit
    /// b, k/kb/kib, m/mb/mib, g/gb/gib, t, p (case-insensitive; 1k = 1024, docker/go-units RAMInBytes).
    public static func parseByteSize(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: " ")
        if let plain = Int64(trimmed), plain >= 0 { return plain }
        let lower = trimmed.lowercased()
        guard let unitStart = lower.firstIndex(where: { !($0.isNumber || $0 == ".") }) else { return nil }
        guard let number = Double(lower[lower.startIndex..<unitStart]), number >= 0 else { return nil }
        let unit = lower[unitStart...].trimmingCharacters(in: " ")
        let multiplier: Double
        switch unit {
        case "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1024
        case "m", "mb", "mib": multiplier = 1024 * 1024
        case "g", "gb", "gib": multiplier = 1024 * 1024 * 1024
        case "t", "tb", "tib": multiplier = 1024 * 1024 * 1024 * 1024
        case "p", "pb", "pib": multiplier = 1024 * 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let value = number * multiplier
        guard value < 9.2e18 else { return nil }
        return Int64(value)
    }

    /// `1.5s`, `250ms`, `12µs`: a short human form of a duration.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 1 || seconds == 0 { return "\(trim(seconds))s" }
        if seconds >= 1e-3 { return "\(trim(seconds * 1e3))ms" }
        return "\(trim(seconds * 1e6))µs"
    }

    /// `512MiB`, `1.5GiB`, `100B`.
    public static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return "\(trim(value))\(units[index])"
    }

    private static func trim(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int64(rounded)) }
        return String(rounded)
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds.
    public var milliseconds: Int64 {
        let (s, attoseconds) = components
        return s * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    /// The string without `character` repeated at either end.
    public func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return String(slice)
    }
}

extension Substring {
    /// The substring without `character` repeated at either end.
    public func trimmingCharacters(in character: Character) -> String {
        String(self).trimmingCharacters(in: character)
    }
}
