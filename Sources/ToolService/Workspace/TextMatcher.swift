import CDispatch
import CSwitchboard
import Foundation

/// Finds a query in file contents: a literal (`memmem`, with ASCII case folding when asked) or a POSIX
/// extended regular expression (glibc `regexec` with `REG_STARTEND`, one compiled copy per thread,
/// because glibc serializes concurrent `regexec` calls on one `regex_t`).
struct TextMatcher: Sendable {
    fileprivate enum Kind: Sendable {
        case literal([UInt8])
        case foldedLiteral([UInt8])
        case regex(String, Int32)
    }

    private let kind: Kind

    init(query: String, regex: Bool, caseSensitive: Bool) throws {
        guard !query.isEmpty else { throw ToolFailure("arguments.query: must not be empty") }
        var pattern = query
        if !regex {
            if caseSensitive {
                kind = .literal(Array(query.utf8))
                return
            }
            if query.utf8.allSatisfy({ $0 < 128 }) {
                kind = .foldedLiteral(Array(query.lowercased().utf8))
                return
            }
            pattern = Self.escape(query)
        }
        let flags = REG_EXTENDED | REG_NEWLINE | (caseSensitive ? 0 : REG_ICASE)
        var compiled = regex_t()
        let code = regcomp(&compiled, pattern, flags)
        defer { if code == 0 { regfree(&compiled) } }
        guard code == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(code, &compiled, &message, message.count)
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ToolFailure("arguments.query: invalid regular expression: \(text)")
        }
        kind = .regex(pattern, flags)
    }

    /// POSIX ERE metacharacters escaped.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if ".[]()*+?{}|^$\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// A matcher for one thread.
    func makeWorker() -> Worker { Worker(kind) }

    final class Worker {
        private let kind: Kind
        private var compiled = regex_t()
        private var hasRegex = false
        private var folded: [UInt8] = []

        fileprivate init(_ kind: Kind) {
            self.kind = kind
            if case .regex(let pattern, let flags) = kind {
                hasRegex = regcomp(&compiled, pattern, flags) == 0
            }
        }

        deinit { if hasRegex { regfree(&compiled) } }

        /// Prepares a buffer (case folding), then finds matches from `start`.
        func prepare(_ buffer: UnsafeRawBufferPointer) {
            guard case .foldedLiteral = kind else { return }
            folded = Array(buffer)
            for index in folded.indices where folded[index] >= 65 && folded[index] <= 90 { folded[index] += 32 }
        }

        /// The first match at or after `start` in `buffer` (the one given to `prepare`).
        func find(in buffer: UnsafeRawBufferPointer, from start: Int) -> Range<Int>? {
            guard start <= buffer.count, let base = buffer.baseAddress else { return nil }
            switch kind {
            case .literal(let needle):
                return Self.memmemRange(base, buffer.count, needle, from: start)
            case .foldedLiteral(let needle):
                return folded.withUnsafeBytes { Self.memmemRange($0.baseAddress!, $0.count, needle, from: start) }
            case .regex:
                guard hasRegex else { return nil }
                var match = [regmatch_t(rm_so: regoff_t(start), rm_eo: regoff_t(buffer.count))]
                let found = regexec(&compiled, base.assumingMemoryBound(to: CChar.self), 1, &match, REG_STARTEND)
                guard found == 0 else { return nil }
                return Int(match[0].rm_so)..<Int(match[0].rm_eo)
            }
        }

        private static func memmemRange(_ base: UnsafeRawPointer, _ count: Int, _ needle: [UInt8], from start: Int) -> Range<Int>? {
            guard start < count else { return nil }
            return needle.withUnsafeBytes { needleBytes -> Range<Int>? in
                guard let hit = sb_memmem(base + start, count - start, needleBytes.baseAddress, needleBytes.count) else { return nil }
                let offset = UnsafeRawPointer(hit) - base
                return offset..<(offset + needle.count)
            }
        }
    }
}
