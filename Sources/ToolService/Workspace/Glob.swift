/// A file-name pattern: `*` (any run without `/`), `?`, `[abc]` / `[!a-z]`, `**` (any run including
/// `/`) and `{a,b}` alternatives. A pattern without `/` is matched against the file name, one with `/`
/// against the path relative to the search root.
struct Glob: Sendable {
    let source: String
    private let alternatives: [[UInt8]]
    let matchesPath: Bool
    let caseSensitive: Bool

    init(_ pattern: String, caseSensitive: Bool = true) {
        source = pattern
        self.caseSensitive = caseSensitive
        matchesPath = pattern.contains("/")
        let expanded = Self.expandBraces(Array(pattern.utf8), depth: 0)
        alternatives = caseSensitive ? expanded : expanded.map { $0.map(Self.lower) }
    }

    /// Matches `path` (relative, `/`-separated) or its last component.
    func matches(path: String, name: String) -> Bool {
        var subject = Array((matchesPath ? path : name).utf8)
        if !caseSensitive { subject = subject.map(Self.lower) }
        return alternatives.contains { Self.match($0[...], subject[...]) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte + 32 : byte
    }

    private static func expandBraces(_ pattern: [UInt8], depth: Int) -> [[UInt8]] {
        guard depth < 8, let open = pattern.firstIndex(of: UInt8(ascii: "{")) else { return [pattern] }
        var level = 0
        var close: Int?
        var commas: [Int] = []
        for index in open..<pattern.count {
            switch pattern[index] {
            case UInt8(ascii: "{"): level += 1
            case UInt8(ascii: "}"):
                level -= 1
                if level == 0 { close = index }
            case UInt8(ascii: ",") where level == 1: commas.append(index)
            default: break
            }
            if close != nil { break }
        }
        guard let close, !commas.isEmpty else { return [pattern] }
        let prefix = Array(pattern[..<open])
        let suffix = Array(pattern[(close + 1)...])
        let bounds = [open] + commas + [close]
        var results: [[UInt8]] = []
        for index in 0..<(bounds.count - 1) {
            let choice = Array(pattern[(bounds[index] + 1)..<bounds[index + 1]])
            results += expandBraces(prefix + choice + suffix, depth: depth + 1)
        }
        return results
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var starP: Int?
        var starT = 0
        while t < text.endIndex {
            if p < pattern.endIndex {
                let byte = pattern[p]
                if byte == UInt8(ascii: "*") {
                    if p + 1 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "*") {
                        // `**` matches any run, `/` included; `**/` also matches nothing.
                        let rest = pattern[(p + 2)...]
                        if rest.first == UInt8(ascii: "/"), match(rest.dropFirst(), text[t...]) { return true }
                        for start in t...text.endIndex where match(rest, text[start...]) { return true }
                        return false
                    }
                    p += 1
                    starP = p
                    starT = t
                    continue
                }
                if byte == UInt8(ascii: "?"), text[t] != UInt8(ascii: "/") {
                    p += 1
                    t += 1
                    continue
                }
                if byte == UInt8(ascii: "["), let (matched, next) = matchClass(pattern, at: p, byte: text[t]) {
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                } else if byte == UInt8(ascii: "\\"), p + 1 < pattern.endIndex, pattern[p + 1] == text[t] {
                    p += 2
                    t += 1
                    continue
                } else if byte == text[t] {
                    p += 1
                    t += 1
                    continue
                }
            }
            // Backtrack to the last star, letting it swallow one more character.
            guard let star = starP, text[starT] != UInt8(ascii: "/") else { return false }
            starT += 1
            t = starT
            p = star
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// `[…]` at `index`: whether `byte` is in the class, and the index after it; nil when unterminated.
    private static func matchClass(_ pattern: ArraySlice<UInt8>, at index: Int, byte: UInt8) -> (Bool, Int)? {
        var i = index + 1
        var negate = false
        if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.endIndex {
            let c = pattern[i]
            if c == UInt8(ascii: "]") && !first { return ((matched != negate) && byte != UInt8(ascii: "/"), i + 1) }
            first = false
            if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                if byte >= c && byte <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if byte == c { matched = true }
                i += 1
            }
        }
        return nil
    }
}
