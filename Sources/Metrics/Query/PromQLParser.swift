import SwitchboardCore

/// Parses the PromQL subset into ``PromQLExpression``.
struct PromQLParser {
    enum Token: Equatable {
        case identifier(String)
        case number(Double)
        case string(String)
        case duration(Double)
        case symbol(String)
        case end
    }

    private var tokens: [Token] = []
    private var position = 0

    static let aggregations: Set<String> = ["sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile"]
    static let functions: Set<String> = [
        "rate", "irate", "increase", "delta", "histogram_quantile", "abs", "ceil", "floor", "round", "clamp_min", "clamp_max",
        "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "last_over_time", "time", "vector",
        "scalar", "absent", "sqrt", "exp", "ln",
    ]

    static func parse(_ text: String) throws(PromQLError) -> PromQLExpression {
        var parser = PromQLParser()
        parser.tokens = try tokenize(text)
        let expression = try parser.expression(minimumPrecedence: 0)
        guard parser.peek == .end else { throw PromQLError("unexpected \(parser.describe(parser.peek)) in '\(text)'") }
        return expression
    }

    // MARK: Tokens

    private static func tokenize(_ text: String) throws(PromQLError) -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" || c == ":" }
        func isIdentifier(_ c: Character) -> Bool { isIdentifierStart(c) || c.isNumber }
        while index < characters.count {
            let c = characters[index]
            if c.isWhitespace {
                index += 1
                continue
            }
            if c == "#" {
                while index < characters.count && characters[index] != "\n" { index += 1 }
                continue
            }
            if c == "\"" || c == "'" || c == "`" {
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let d = characters[index]
                    index += 1
                    if d == c {
                        closed = true
                        break
                    }
                    if d == "\\", c != "`", index < characters.count {
                        let e = characters[index]
                        index += 1
                        switch e {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "\\": value.append("\\")
                        case "\"", "'": value.append(e)
                        default: value.append("\\"); value.append(e)
                        }
                    } else {
                        value.append(d)
                    }
                }
                guard closed else { throw PromQLError("unterminated string") }
                tokens.append(.string(value))
                continue
            }
            if c.isNumber || (c == "." && index + 1 < characters.count && characters[index + 1].isNumber) {
                var end = index
                while end < characters.count && (characters[end].isNumber || characters[end] == "." || characters[end] == "e"
                    || ((characters[end] == "+" || characters[end] == "-") && end > index && characters[end - 1] == "e"))
                {
                    end += 1
                }
                // A duration is digits followed by a unit letter: 5m, 1h30m, 250ms.
                if end < characters.count, characters[end].isLetter {
                    var unitEnd = end
                    while unitEnd < characters.count && (characters[unitEnd].isLetter || characters[unitEnd].isNumber) { unitEnd += 1 }
                    let text = String(characters[index..<unitEnd])
                    guard let duration = Units.parseDuration(text) else { throw PromQLError("invalid duration '\(text)'") }
                    tokens.append(.duration(duration.seconds))
                    index = unitEnd
                    continue
                }
                let text = String(characters[index..<end])
                guard let value = Double(text) else { throw PromQLError("invalid number '\(text)'") }
                tokens.append(.number(value))
                index = end
                continue
            }
            if isIdentifierStart(c) {
                var end = index
                while end < characters.count && isIdentifier(characters[end]) { end += 1 }
                let word = String(characters[index..<end])
                switch word.lowercased() {
                case "inf": tokens.append(.number(.infinity))
                case "nan": tokens.append(.number(.nan))
                default: tokens.append(.identifier(word))
                }
                index = end
                continue
            }
            let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
            if ["==", "!=", ">=", "<=", "=~", "!~"].contains(two) {
                tokens.append(.symbol(two))
                index += 2
                continue
            }
            if "(){}[],=<>+-*/%^".contains(c) {
                tokens.append(.symbol(String(c)))
                index += 1
                continue
            }
            throw PromQLError("unexpected character '\(c)'")
        }
        tokens.append(.end)
        return tokens
    }

    private var peek: Token { tokens[position] }

    private mutating func advance() -> Token {
        defer { position += 1 }
        return tokens[position]
    }

    private mutating func expect(_ symbol: String) throws(PromQLError) {
        guard peek == .symbol(symbol) else { throw PromQLError("expected '\(symbol)' but found \(describe(peek))") }
        position += 1
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .identifier(let s): return "'\(s)'"
        case .number(let n): return "number \(n)"
        case .string(let s): return "string \"\(s)\""
        case .duration(let d): return "duration \(d)s"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of expression"
        }
    }

    // MARK: Grammar

    private static func precedence(of token: Token) -> Int? {
        switch token {
        case .identifier("or"): return 1
        case .identifier("and"), .identifier("unless"): return 2
        case .symbol("=="), .symbol("!="), .symbol(">"), .symbol("<"), .symbol(">="), .symbol("<="): return 3
        case .symbol("+"), .symbol("-"): return 4
        case .symbol("*"), .symbol("/"), .symbol("%"): return 5
        case .symbol("^"): return 6
        default: return nil
        }
    }

    private mutating func expression(minimumPrecedence: Int) throws(PromQLError) -> PromQLExpression {
        var left = try unary()
        while let precedence = Self.precedence(of: peek), precedence > minimumPrecedence || (precedence == 6 && precedence >= minimumPrecedence) {
            let op: String
            switch advance() {
            case .symbol(let s): op = s
            case .identifier(let s): op = s
            default: throw PromQLError("expected an operator")
            }
            var matching = PromQLExpression.VectorMatching()
            if peek == .identifier("bool") {
                position += 1
                matching.returnBool = true
            }
            if case .identifier(let word) = peek, word == "on" || word == "ignoring" {
                position += 1
                let labels = try labelList()
                matching.labels = word == "on" ? .on(labels) : .ignoring(labels)
            }
            if case .identifier(let word) = peek, word == "group_left" || word == "group_right" {
                throw PromQLError("\(word) is not supported")
            }
            // ^ is right-associative.
            let right = try expression(minimumPrecedence: op == "^" ? precedence - 1 : precedence)
            left = .binary(operator: op, left: left, right: right, matching: matching)
        }
        return left
    }

    private mutating func unary() throws(PromQLError) -> PromQLExpression {
        if peek == .symbol("-") {
            position += 1
            return .negate(try unary())
        }
        if peek == .symbol("+") {
            position += 1
            return try unary()
        }
        return try postfix()
    }

    private mutating func postfix() throws(PromQLError) -> PromQLExpression {
        var expression = try primary()
        if peek == .symbol("[") {
            position += 1
            guard case .duration(let range) = advance() else { throw PromQLError("expected a duration inside [ ]") }
            try expect("]")
            guard case .selector(let name, let matchers, nil, let offset) = expression else {
                throw PromQLError("a range [ ] can only follow a metric selector")
            }
            expression = .selector(name: name, matchers: matchers, range: range, offset: offset)
        }
        if peek == .identifier("offset") {
            position += 1
            guard case .duration(let offset) = advance() else { throw PromQLError("expected a duration after offset") }
            guard case .selector(let name, let matchers, let range, _) = expression else { throw PromQLError("offset must follow a selector") }
            expression = .selector(name: name, matchers: matchers, range: range, offset: offset)
        }
        return expression
    }

    private mutating func primary() throws(PromQLError) -> PromQLExpression {
        switch advance() {
        case .number(let value):
            return .number(value)
        case .string(let value):
            return .string(value)
        case .symbol("("):
            let inner = try expression(minimumPrecedence: 0)
            try expect(")")
            return inner
        case .symbol("{"):
            position -= 1
            return .selector(name: nil, matchers: try matchers(), range: nil, offset: 0)
        case .identifier(let word):
            if Self.aggregations.contains(word), peek == .symbol("(") || peek == .identifier("by") || peek == .identifier("without") {
                return try aggregation(word)
            }
            if peek == .symbol("("), Self.functions.contains(word) {
                position += 1
                var arguments: [PromQLExpression] = []
                if peek != .symbol(")") {
                    arguments.append(try expression(minimumPrecedence: 0))
                    while peek == .symbol(",") {
                        position += 1
                        arguments.append(try expression(minimumPrecedence: 0))
                    }
                }
                try expect(")")
                return .call(function: word, arguments: arguments)
            }
            if peek == .symbol("(") { throw PromQLError("unknown function '\(word)'") }
            let matchers = peek == .symbol("{") ? try self.matchers() : []
            return .selector(name: word, matchers: matchers, range: nil, offset: 0)
        case let other:
            throw PromQLError("unexpected \(describe(other))")
        }
    }

    private mutating func aggregation(_ operation: String) throws(PromQLError) -> PromQLExpression {
        var grouping = PromQLExpression.Grouping.none
        if case .identifier(let word) = peek, word == "by" || word == "without" {
            position += 1
            let labels = try labelList()
            grouping = word == "by" ? .by(labels) : .without(labels)
        }
        try expect("(")
        var parameter: PromQLExpression?
        var inner = try expression(minimumPrecedence: 0)
        if peek == .symbol(",") {
            position += 1
            parameter = inner
            inner = try expression(minimumPrecedence: 0)
        }
        try expect(")")
        if case .identifier(let word) = peek, word == "by" || word == "without" {
            position += 1
            let labels = try labelList()
            grouping = word == "by" ? .by(labels) : .without(labels)
        }
        return .aggregate(operation: operation, grouping: grouping, parameter: parameter, expression: inner)
    }

    private mutating func labelList() throws(PromQLError) -> [String] {
        try expect("(")
        var labels: [String] = []
        while peek != .symbol(")") {
            guard case .identifier(let label) = advance() else { throw PromQLError("expected a label name") }
            labels.append(label)
            if peek == .symbol(",") { position += 1 }
        }
        try expect(")")
        return labels
    }

    private mutating func matchers() throws(PromQLError) -> [LabelMatcher] {
        try expect("{")
        var matchers: [LabelMatcher] = []
        while peek != .symbol("}") {
            guard case .identifier(let label) = advance() else { throw PromQLError("expected a label name in { }") }
            guard case .symbol(let op) = advance(), let kind = LabelMatcher.Kind(rawValue: op) else {
                throw PromQLError("expected =, !=, =~ or !~ after \(label)")
            }
            guard case .string(let value) = advance() else { throw PromQLError("expected a quoted value for \(label)") }
            matchers.append(try LabelMatcher(label: label, kind: kind, value: value))
            if peek == .symbol(",") { position += 1 }
        }
        try expect("}")
        return matchers
    }
}
