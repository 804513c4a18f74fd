/// A unified diff of two texts by line (Myers' O(ND) algorithm), as `edit_file` returns it.
enum TextDiff {
    /// `--- a/path` / `+++ b/path` and hunks with `context` lines around each change; "" when equal.
    static func unified(old: String, new: String, path: String, context: Int = 3) -> String {
        let a = lines(old)
        let b = lines(new)
        let script = edits(a, b)
        guard script.contains(where: { $0.kind != .same }) else { return "" }
        var lines = ["--- a/\(path)", "+++ b/\(path)"]
        // Group changes into hunks with context.
        var index = 0
        while index < script.count {
            guard let firstChange = script[index...].firstIndex(where: { $0.kind != .same }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < script.count {
                if script[end].kind != .same { lastChange = end }
                if end - lastChange > 2 * context { break }
                end += 1
            }
            end = min(script.count, lastChange + context + 1)
            let hunk = script[start..<end]
            let oldStart = hunk.first?.oldLine ?? 0
            let newStart = hunk.first?.newLine ?? 0
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            lines.append("@@ -\(oldStart + (oldCount > 0 ? 1 : 0)),\(oldCount) +\(newStart + (newCount > 0 ? 1 : 0)),\(newCount) @@")
            for edit in hunk {
                switch edit.kind {
                case .same: lines.append(" " + edit.text)
                case .delete: lines.append("-" + edit.text)
                case .insert: lines.append("+" + edit.text)
                }
            }
            index = end
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The lines of a text; a final line break ends the last line rather than starting an empty one.
    private static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    struct Edit {
        enum Kind { case same, delete, insert }
        let kind: Kind
        let text: String
        /// Line index (0-based) in the old text (for inserts: where it goes).
        let oldLine: Int
        let newLine: Int
    }

    /// The shortest edit script turning `a` into `b`. Common prefix and suffix are trimmed first, so
    /// the usual small edit of a large file stays cheap.
    static func edits(_ a: [String], _ b: [String]) -> [Edit] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let x = Array(a[prefix..<(a.count - suffix)])
        let y = Array(b[prefix..<(b.count - suffix)])
        var result: [Edit] = (0..<prefix).map { Edit(kind: .same, text: a[$0], oldLine: $0, newLine: $0) }
        result += myers(x, y, oldOffset: prefix, newOffset: prefix)
        for offset in 0..<suffix {
            let oldIndex = a.count - suffix + offset
            result.append(Edit(kind: .same, text: a[oldIndex], oldLine: oldIndex, newLine: b.count - suffix + offset))
        }
        return result
    }

    private static func myers(_ a: [String], _ b: [String], oldOffset: Int, newOffset: Int) -> [Edit] {
        let n = a.count
        let m = b.count
        if n == 0 { return b.enumerated().map { Edit(kind: .insert, text: $1, oldLine: oldOffset, newLine: newOffset + $0) } }
        if m == 0 { return a.enumerated().map { Edit(kind: .delete, text: $1, oldLine: oldOffset + $0, newLine: newOffset) } }
        // Very different inputs: replace wholesale rather than spend quadratic time and memory.
        let maxD = min(n + m, 2_000)
        let wholesale = a.enumerated().map { Edit(kind: .delete, text: $1, oldLine: oldOffset + $0, newLine: newOffset) }
            + b.enumerated().map { Edit(kind: .insert, text: $1, oldLine: oldOffset + n, newLine: newOffset + $0) }
        // v[k + offset] is the furthest x on diagonal k; the trace keeps, per step d, only the
        // diagonals -d-1...d+1 that backtracking reads (index k + d + 1).
        let offset = maxD + 1
        var v = [Int](repeating: 0, count: 2 * maxD + 3)
        var trace: [[Int]] = []
        var finished = false
        outer: for d in 0...maxD {
            trace.append(Array(v[(offset - d - 1)...(offset + d + 1)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[k - 1 + offset] < v[k + 1 + offset]) {
                    x = v[k + 1 + offset]
                } else {
                    x = v[k - 1 + offset] + 1
                }
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[k + offset] = x
                if x >= n && y >= m {
                    finished = true
                    break outer
                }
            }
        }
        guard finished else { return wholesale }
        var edits: [Edit] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let previousK = (k == -d || (k != d && v[k - 1 + d + 1] < v[k + 1 + d + 1])) ? k + 1 : k - 1
            let previousX = v[previousK + d + 1]
            let previousY = previousX - previousK
            while x > previousX, y > previousY {
                x -= 1
                y -= 1
                edits.append(Edit(kind: .same, text: a[x], oldLine: oldOffset + x, newLine: newOffset + y))
            }
            if d > 0 {
                if x == previousX {
                    y -= 1
                    edits.append(Edit(kind: .insert, text: b[y], oldLine: oldOffset + x, newLine: newOffset + y))
                } else {
                    x -= 1
                    edits.append(Edit(kind: .delete, text: a[x], oldLine: oldOffset + x, newLine: newOffset + y))
                }
            }
            x = previousX
            y = previousY
        }
        return edits.reversed()
    }
}
