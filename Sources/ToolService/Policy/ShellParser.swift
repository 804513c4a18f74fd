/// One word of a command after quote removal.
struct CommandWord: Sendable, Equatable, CustomStringConvertible {
    /// The word with quotes and escapes removed (expansions kept as written).
    var text: String
    /// False when the shell would change the word when it runs: a parameter, command or arithmetic
    /// expansion, an unquoted glob or brace expansion, or a leading `~`.
    var isLiteral: Bool

    init(_ text: String, isLiteral: Bool = true) {
        self.text = text
        self.isLiteral = isLiteral
    }

    var description: String { text }
}

/// A simple command found anywhere in a shell script, including inside `$(…)`, backticks, `<(…)`,
/// `>(…)`, here-documents, subshells and compound commands.
struct ShellCommand: Sendable {
    /// `NAME=value` words before the command name.
    var assignments: [(name: String, value: CommandWord)] = []
    var words: [CommandWord] = []
}

/// The shell syntax the parser could not verify: the whole script is refused.
struct ShellParseError: Error, Sendable, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A deliberately conservative reader of POSIX sh / bash command lines. It finds every simple command
/// a script can run, with its words, so the command policy can check each one. Anything whose effect
/// cannot be known before running it (functions, `case`, `eval`-like builtins are refused by the policy;
/// unterminated quotes, `((…))`, coprocesses and unknown constructs are refused here) is an error:
/// a script the parser cannot read with certainty is denied, never guessed at.
struct ShellParser {
    private let bytes: [UInt8]
    private var index = 0
    private let depth: Int
    private(set) var commands: [ShellCommand] = []
    /// Operators, redirections and expansions seen (empty for a plain `program arg…` line).
    private(set) var constructs: [String] = []
    private var pendingHeredocs: [(delimiter: String, stripTabs: Bool, expands: Bool)] = []

    static let maxDepth = 24

    private init(_ bytes: [UInt8], depth: Int) {
        self.bytes = bytes
        self.depth = depth
    }

    /// Every simple command of `script`, and the shell constructs it uses.
    static func parse(_ script: String) throws(ShellParseError) -> (commands: [ShellCommand], constructs: [String]) {
        var parser = ShellParser(Array(script.utf8), depth: 0)
        try parser.parseList(closing: nil)
        return (parser.commands, parser.constructs)
    }

    // MARK: Lists

    private static let reservedOpeners: Set<String> = ["if", "then", "else", "elif", "while", "until", "do", "!", "{", "time"]
    private static let reservedClosers: Set<String> = ["fi", "done", "}"]
    private static let refused: [String: String] = [
        "case": "`case` statements", "select": "`select` loops", "function": "function definitions", "coproc": "coprocesses",
        "esac": "`case` statements", "in": "a misplaced `in`",
    ]

    private mutating func parseList(closing: UInt8?) throws(ShellParseError) {
        guard depth < Self.maxDepth else { throw ShellParseError(message: "shell nesting deeper than \(Self.maxDepth) levels") }
        var current = ShellCommand()
        var afterCloser = false
        func finish(_ current: inout ShellCommand, into commands: inout [ShellCommand]) {
            if !current.words.isEmpty || !current.assignments.isEmpty { commands.append(current) }
            current = ShellCommand()
        }
        while true {
            skipBlanks()
            guard index < bytes.count else {
                finish(&current, into: &commands)
                if let closing { throw ShellParseError(message: "missing `\(Character(UnicodeScalar(closing)))`") }
                if let heredoc = pendingHeredocs.first { throw ShellParseError(message: "here-document `\(heredoc.delimiter)` has no body") }
                return
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "\n"):
                index += 1
                finish(&current, into: &commands)
                afterCloser = false
                try readHeredocBodies()
            case UInt8(ascii: ";"):
                if peek(1) == UInt8(ascii: ";") { throw ShellParseError(message: "`;;` outside a case statement") }
                index += 1
                constructs.append(";")
                finish(&current, into: &commands)
                afterCloser = false
            case UInt8(ascii: "&"):
                if peek(1) == UInt8(ascii: ">") {
                    try parseRedirection()
                } else {
                    let isAnd = peek(1) == UInt8(ascii: "&")
                    index += isAnd ? 2 : 1
                    constructs.append(isAnd ? "&&" : "&")
                    finish(&current, into: &commands)
                    afterCloser = false
                }
            case UInt8(ascii: "|"):
                let next = peek(1)
                index += (next == UInt8(ascii: "|") || next == UInt8(ascii: "&")) ? 2 : 1
                constructs.append(next == UInt8(ascii: "|") ? "||" : "|")
                finish(&current, into: &commands)
                afterCloser = false
            case UInt8(ascii: "("):
                guard current.words.isEmpty, current.assignments.isEmpty, !afterCloser else {
                    throw ShellParseError(message: current.words.count == 1 ? "function definitions" : "an unexpected `(`")
                }
                if peek(1) == UInt8(ascii: "(") { throw ShellParseError(message: "arithmetic commands `((…))`") }
                index += 1
                constructs.append("( )")
                try parseNested(closing: UInt8(ascii: ")"))
                afterCloser = true
            case UInt8(ascii: ")"):
                guard closing == UInt8(ascii: ")") else { throw ShellParseError(message: "an unmatched `)`") }
                index += 1
                finish(&current, into: &commands)
                return
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                if peek(1) == UInt8(ascii: "(") {
                    let word = try parseWord()
                    current.words.append(word)
                } else {
                    try parseRedirection()
                }
            default:
                let (word, assignment) = try parseWordWithAssignment()
                // `2>file`: digits directly before a redirection are its descriptor, not a word.
                if word.isLiteral, !word.text.isEmpty, word.text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let next = peek(0), next == UInt8(ascii: "<") || next == UInt8(ascii: ">")
                {
                    continue
                }
                if current.words.isEmpty {
                    if afterCloser { throw ShellParseError(message: "a word after the end of a compound command") }
                    if let assignment {
                        current.assignments.append((assignment, CommandWord(String(word.text.drop(while: { $0 != "=" }).dropFirst()), isLiteral: word.isLiteral)))
                        continue
                    }
                    if word.isLiteral {
                        if let construct = Self.refused[word.text] { throw ShellParseError(message: construct) }
                        if Self.reservedOpeners.contains(word.text) {
                            constructs.append(word.text)
                            continue
                        }
                        if Self.reservedClosers.contains(word.text) {
                            constructs.append(word.text)
                            finish(&current, into: &commands)
                            afterCloser = true
                            continue
                        }
                        if word.text == "for" {
                            constructs.append("for")
                            try parseForHeader()
                            continue
                        }
                    }
                }
                current.words.append(word)
            }
        }
    }

    /// `for NAME [in WORDS]` up to the separator; `do` follows as an opener.
    private mutating func parseForHeader() throws(ShellParseError) {
        skipBlanks()
        if peek(0) == UInt8(ascii: "(") { throw ShellParseError(message: "arithmetic `for ((…))` loops") }
        let name = try parseWord()
        guard name.isLiteral, !name.text.isEmpty else { throw ShellParseError(message: "a `for` loop without a variable name") }
        skipBlanks()
        var sawIn = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ";") || byte == UInt8(ascii: "\n") { return }
            let word = try parseWord()
            if !sawIn {
                guard word.isLiteral, word.text == "in" || word.text == "do" else { throw ShellParseError(message: "a malformed `for` loop") }
                if word.text == "do" { return }
                sawIn = true
            }
            skipBlanks()
        }
    }

    /// A nested list (subshell, `$(…)`, `<(…)`), parsed into this parser's commands.
    private mutating func parseNested(closing: UInt8) throws(ShellParseError) {
        var nested = ShellParser(bytes, depth: depth + 1)
        nested.index = index
        try nested.parseList(closing: closing)
        index = nested.index
        commands += nested.commands
        constructs += nested.constructs
    }

    /// A separate script (backtick body, expansions inside `${…}`, `$((…))` or here-document bodies).
    private mutating func parseEmbedded(_ text: [UInt8], asQuoted: Bool) throws(ShellParseError) {
        var nested = ShellParser(text, depth: depth + 1)
        if asQuoted {
            _ = try nested.parseQuotedContent(terminated: false)
        } else {
            try nested.parseList(closing: nil)
        }
        commands += nested.commands
        constructs += nested.constructs
    }

    // MARK: Redirections and here-documents

    private mutating func parseRedirection() throws(ShellParseError) {
        let start = index
        if bytes[index] == UInt8(ascii: "&") { index += 1 }
        let direction = bytes[index]
        index += 1
        var heredoc = false
        var stripTabs = false
        if direction == UInt8(ascii: "<"), peek(0) == UInt8(ascii: "<") {
            index += 1
            if peek(0) == UInt8(ascii: "<") {
                index += 1  // here-string: the word follows
            } else {
                heredoc = true
                if peek(0) == UInt8(ascii: "-") {
                    index += 1
                    stripTabs = true
                }
            }
        } else if let next = peek(0), next == UInt8(ascii: ">") || next == UInt8(ascii: "&") || next == UInt8(ascii: "|") {
            index += 1
        }
        constructs.append(String(decoding: bytes[start..<index], as: UTF8.self))
        skipBlanks()
        let processSubstitution = index < bytes.count && (bytes[index] == UInt8(ascii: "<") || bytes[index] == UInt8(ascii: ">")) && peek(1) == UInt8(ascii: "(")
        guard index < bytes.count, !Self.isMeta(bytes[index]) || processSubstitution else {
            throw ShellParseError(message: "a redirection without a target")
        }
        if heredoc {
            let delimiterStart = index
            let word = try parseWord()
            let quoted = bytes[delimiterStart..<index].contains { $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
            pendingHeredocs.append((word.text, stripTabs, !quoted))
        } else {
            _ = try parseWord()
        }
    }

    private mutating func readHeredocBodies() throws(ShellParseError) {
        let pending = pendingHeredocs
        pendingHeredocs = []
        for heredoc in pending {
            var body: [UInt8] = []
            var terminated = false
            while index < bytes.count {
                let lineEnd = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                var line = Array(bytes[index..<lineEnd])
                index = min(lineEnd + 1, bytes.count)
                if heredoc.stripTabs { line = Array(line.drop(while: { $0 == UInt8(ascii: "\t") })) }
                if line == Array(heredoc.delimiter.utf8) {
                    terminated = true
                    break
                }
                body += line + [UInt8(ascii: "\n")]
            }
            guard terminated else { throw ShellParseError(message: "here-document `\(heredoc.delimiter)` is not terminated") }
            if heredoc.expands { try parseEmbedded(body, asQuoted: true) }
        }
    }

    // MARK: Words

    private mutating func parseWord() throws(ShellParseError) -> CommandWord {
        try parseWordWithAssignment().word
    }

    /// A word, and the variable name when it is an unquoted `NAME=value` / `NAME+=value`.
    private mutating func parseWordWithAssignment() throws(ShellParseError) -> (word: CommandWord, assignment: String?) {
        let start = index
        var text: [UInt8] = []
        var literal = true
        var assignment: String?
        var quotedSoFar = false
        while index < bytes.count {
            let byte = bytes[index]
            if (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")) && peek(1) == UInt8(ascii: "(") {
                constructs.append(byte == UInt8(ascii: "<") ? "<( )" : ">( )")
                index += 2
                try parseNested(closing: UInt8(ascii: ")"))
                text += Array("<(…)".utf8)
                literal = false
                continue
            }
            if Self.isMeta(byte) { break }
            switch byte {
            case UInt8(ascii: "\\"):
                if peek(1) == UInt8(ascii: "\n") {
                    index += 2
                } else if let next = peek(1) {
                    text.append(next)
                    index += 2
                    quotedSoFar = true
                } else {
                    index += 1
                }
            case UInt8(ascii: "'"):
                guard let end = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                    throw ShellParseError(message: "an unterminated single quote")
                }
                text += bytes[(index + 1)..<end]
                index = end + 1
                quotedSoFar = true
            case UInt8(ascii: "\""):
                index += 1
                let (content, isLiteral) = try parseQuotedContent(terminated: true)
                text += content
                literal = literal && isLiteral
                quotedSoFar = true
            case UInt8(ascii: "`"):
                try parseBackticks()
                text += Array("`…`".utf8)
                literal = false
            case UInt8(ascii: "$"):
                if peek(1) == UInt8(ascii: "'") {
                    index += 2
                    text += try parseANSIQuoted()
                    quotedSoFar = true
                } else if peek(1) == UInt8(ascii: "\"") {
                    index += 2
                    let (content, isLiteral) = try parseQuotedContent(terminated: true)
                    text += content
                    literal = literal && isLiteral
                    quotedSoFar = true
                } else {
                    let (expansion, expanded) = try parseDollar()
                    text += expansion
                    literal = literal && !expanded
                }
            case UInt8(ascii: "*"), UInt8(ascii: "?"):
                text.append(byte)
                literal = false
                index += 1
            case UInt8(ascii: "["):
                // A glob only when a `]` closes it within the word (`[` alone is the test command).
                if let close = bytes[(index + 1)...].firstIndex(where: { $0 == UInt8(ascii: "]") || Self.isMeta($0) }), bytes[close] == UInt8(ascii: "]") {
                    literal = false
                }
                text.append(byte)
                index += 1
            case UInt8(ascii: "{"):
                if let close = bytes[(index + 1)...].firstIndex(where: { $0 == UInt8(ascii: "}") || Self.isMeta($0) }), bytes[close] == UInt8(ascii: "}") {
                    let inner = bytes[(index + 1)..<close]
                    if inner.contains(UInt8(ascii: ",")) || inner.starts(with: Array("..".utf8)) || inner.firstRange(of: Array("..".utf8)) != nil {
                        literal = false
                    }
                }
                text.append(byte)
                index += 1
            case UInt8(ascii: "~") where index == start:
                text.append(byte)
                literal = false
                index += 1
            case UInt8(ascii: "="):
                if assignment == nil, !quotedSoFar, literal, index > start, Self.isName(text) || (text.last == UInt8(ascii: "+") && Self.isName(Array(text.dropLast()))) {
                    assignment = String(decoding: text.last == UInt8(ascii: "+") ? Array(text.dropLast()) : text, as: UTF8.self)
                }
                text.append(byte)
                index += 1
                if peek(0) == UInt8(ascii: "("), assignment != nil { throw ShellParseError(message: "array assignments") }
            default:
                text.append(byte)
                index += 1
            }
        }
        if index == start {
            guard index < bytes.count else { throw ShellParseError(message: "an unexpected end of the script") }
            throw ShellParseError(message: "an unexpected `\(Character(UnicodeScalar(bytes[index])))`")
        }
        return (CommandWord(String(decoding: text, as: UTF8.self), isLiteral: literal), assignment)
    }

    /// The inside of `"…"` (or a here-document body when not `terminated`): returns its text and
    /// whether it is free of expansions.
    private mutating func parseQuotedContent(terminated: Bool) throws(ShellParseError) -> ([UInt8], Bool) {
        var text: [UInt8] = []
        var literal = true
        while true {
            guard index < bytes.count else {
                if terminated { throw ShellParseError(message: "an unterminated double quote") }
                return (text, literal)
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\"") where terminated:
                index += 1
                return (text, literal)
            case UInt8(ascii: "\\"):
                if let next = peek(1), [UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "\""), UInt8(ascii: "\\")].contains(next) {
                    text.append(next)
                    index += 2
                } else if peek(1) == UInt8(ascii: "\n") {
                    index += 2
                } else {
                    text.append(byte)
                    index += 1
                }
            case UInt8(ascii: "`"):
                try parseBackticks()
                text += Array("`…`".utf8)
                literal = false
            case UInt8(ascii: "$"):
                let (expansion, expanded) = try parseDollar()
                text += expansion
                literal = literal && !expanded
            default:
                text.append(byte)
                index += 1
            }
        }
    }

    /// `$…` at `index`: command substitution, arithmetic, `${…}`, a variable, or a plain `$`.
    private mutating func parseDollar() throws(ShellParseError) -> ([UInt8], Bool) {
        let next = peek(1)
        if next == UInt8(ascii: "(") {
            if peek(2) == UInt8(ascii: "(") {
                constructs.append("$(( ))")
                index += 3
                let content = try scanBalanced(open: UInt8(ascii: "("), close: UInt8(ascii: ")"), depth: 2)
                try parseEmbedded(content, asQuoted: true)
                return (Array("$((…))".utf8), true)
            }
            constructs.append("$( )")
            index += 2
            try parseNested(closing: UInt8(ascii: ")"))
            return (Array("$(…)".utf8), true)
        }
        if next == UInt8(ascii: "{") {
            constructs.append("${ }")
            index += 2
            let content = try scanBalanced(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), depth: 1)
            try parseEmbedded(content, asQuoted: true)
            return (Array("${".utf8) + content + [UInt8(ascii: "}")], true)
        }
        if let next, Self.isNameStart(next) {
            let start = index
            index += 1
            while index < bytes.count, Self.isNameStart(bytes[index]) || (bytes[index] >= 48 && bytes[index] <= 57) { index += 1 }
            constructs.append("$NAME")
            return (Array(bytes[start..<index]), true)
        }
        if let next, (next >= 48 && next <= 57) || Array("@*#?$!-".utf8).contains(next) {
            index += 2
            constructs.append("$NAME")
            return ([UInt8(ascii: "$"), next], true)
        }
        index += 1
        return ([UInt8(ascii: "$")], false)
    }

    /// Text up to the bracket closing `depth` open ones, skipping quoted parts; `index` ends after it.
    private mutating func scanBalanced(open: UInt8, close: UInt8, depth: Int) throws(ShellParseError) -> [UInt8] {
        var level = depth
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == UInt8(ascii: "'") {
                guard let end = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "'")) else { break }
                index = end + 1
                continue
            }
            if byte == open { level += 1 }
            if byte == close {
                level -= 1
                if level == 0 || (depth == 2 && level == 1 && peek(1) == close) {
                    let content = Array(bytes[start..<index])
                    index += depth == 2 && level == 1 ? 2 : 1
                    return content
                }
            }
            index += 1
        }
        throw ShellParseError(message: "an unterminated `\(Character(UnicodeScalar(open)))`")
    }

    /// `` `…` ``: the body, with its backslash escapes undone, is a script of its own.
    private mutating func parseBackticks() throws(ShellParseError) {
        constructs.append("`…`")
        index += 1
        var body: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "`") {
                index += 1
                try parseEmbedded(body, asQuoted: false)
                return
            }
            if byte == UInt8(ascii: "\\"), let next = peek(1), [UInt8(ascii: "`"), UInt8(ascii: "$"), UInt8(ascii: "\\")].contains(next) {
                body.append(next)
                index += 2
                continue
            }
            body.append(byte)
            index += 1
        }
        throw ShellParseError(message: "an unterminated backtick")
    }

    /// `$'…'` with its escapes decoded, so `$'\x73udo'` is seen as `sudo`.
    private mutating func parseANSIQuoted() throws(ShellParseError) -> [UInt8] {
        var text: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "'") {
                index += 1
                return text
            }
            guard byte == UInt8(ascii: "\\"), let next = peek(1) else {
                text.append(byte)
                index += 1
                continue
            }
            index += 2
            switch next {
            case UInt8(ascii: "n"): text.append(10)
            case UInt8(ascii: "t"): text.append(9)
            case UInt8(ascii: "r"): text.append(13)
            case UInt8(ascii: "a"): text.append(7)
            case UInt8(ascii: "b"): text.append(8)
            case UInt8(ascii: "e"), UInt8(ascii: "E"): text.append(27)
            case UInt8(ascii: "f"): text.append(12)
            case UInt8(ascii: "v"): text.append(11)
            case UInt8(ascii: "x"):
                text += Array(decodeNumber(radix: 16, maxDigits: 2).utf8)
            case UInt8(ascii: "u"):
                text += Array(decodeNumber(radix: 16, maxDigits: 4).utf8)
            case UInt8(ascii: "U"):
                text += Array(decodeNumber(radix: 16, maxDigits: 8).utf8)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                index -= 1
                text += Array(decodeNumber(radix: 8, maxDigits: 3).utf8)
            case UInt8(ascii: "c"):
                throw ShellParseError(message: "control-character escapes in $'…'")
            default:
                text.append(next)
            }
        }
        throw ShellParseError(message: "an unterminated $'…' string")
    }

    private mutating func decodeNumber(radix: Int, maxDigits: Int) -> String {
        var value: UInt32 = 0
        var digits = 0
        while digits < maxDigits, index < bytes.count, let digit = Int(String(UnicodeScalar(bytes[index])), radix: radix) {
            value = value * UInt32(radix) + UInt32(digit)
            digits += 1
            index += 1
        }
        return String(UnicodeScalar(value).map(Character.init) ?? "\u{FFFD}")
    }

    // MARK: Characters

    private func peek(_ offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func skipBlanks() {
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "\n") {
                index += 2
            } else {
                return
            }
        }
    }

    static func isMeta(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: ";"), UInt8(ascii: "&"), UInt8(ascii: "|"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            return true
        default:
            return false
        }
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == UInt8(ascii: "_")
    }

    private static func isName(_ text: [UInt8]) -> Bool {
        guard let first = text.first, isNameStart(first) else { return false }
        return text.allSatisfy { isNameStart($0) || ($0 >= 48 && $0 <= 57) }
    }
}
