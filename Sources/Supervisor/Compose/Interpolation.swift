import SwitchboardCore

/// Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.
/// Defaults may themselves contain interpolations.
struct Interpolation {
    let variables: [String: String]

    /// Interpolates every string value (not keys) of a document.
    func apply(to value: JSONValue, path: String = "") throws(ComposeError) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(try interpolate(text, path: path))
        case .array(let elements):
            var result: [JSONValue] = []
            for (index, element) in elements.enumerated() { result.append(try apply(to: element, path: "\(path)[\(index)]")) }
            return .array(result)
        case .object(let members):
            var result: [(key: String, value: JSONValue)] = []
            for member in members {
                result.append((member.key, try apply(to: member.value, path: path.isEmpty ? member.key : "\(path).\(member.key)")))
            }
            return .object(result)
        default:
            return value
        }
    }

    func interpolate(_ text: String, path: String) throws(ComposeError) -> String {
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                output.append(character)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            guard next < text.endIndex else {
                output.append("$")
                break
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
            } else if text[next] == "{" {
                // Find the matching brace, allowing nested ${…} in defaults.
                var depth = 1
                var cursor = text.index(after: next)
                while cursor < text.endIndex {
                    if text[cursor] == "{" { depth += 1 }
                    if text[cursor] == "}" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    cursor = text.index(after: cursor)
                }
                guard cursor < text.endIndex else { throw ComposeError(path: path, message: "unterminated ${ in '\(text)'") }
                output += try expand(String(text[text.index(after: next)..<cursor]), path: path)
                index = text.index(after: cursor)
            } else if text[next] == "_" || text[next].isLetter {
                var cursor = next
                while cursor < text.endIndex, text[cursor] == "_" || text[cursor].isLetter || text[cursor].isNumber {
                    cursor = text.index(after: cursor)
                }
                output += variables[String(text[next..<cursor])] ?? ""
                index = cursor
            } else {
                output.append("$")
                index = next
            }
        }
        return output
    }

    private func expand(_ expression: String, path: String) throws(ComposeError) -> String {
        let nameEnd = expression.firstIndex(where: { !($0 == "_" || $0.isLetter || $0.isNumber) }) ?? expression.endIndex
        let name = String(expression[..<nameEnd])
        guard !name.isEmpty else { throw ComposeError(path: path, message: "invalid interpolation ${\(expression)}") }
        let rest = expression[nameEnd...]
        let value = variables[name]
        if rest.isEmpty { return value ?? "" }
        for (op, emptyCounts) in [(":-", true), ("-", false), (":?", true), ("?", false), (":+", true), ("+", false)] where rest.hasPrefix(op) {
            let argument = try interpolate(String(rest.dropFirst(op.count)), path: path)
            let isSet = value != nil && !(emptyCounts && value!.isEmpty)
            switch op.last! {
            case "-": return isSet ? value! : argument
            case "?":
                if isSet { return value! }
                throw ComposeError(path: path, message: "required variable \(name) is missing: \(argument.isEmpty ? "set it in the environment or .env" : argument)")
            default: return isSet ? argument : ""
            }
        }
        throw ComposeError(path: path, message: "invalid interpolation ${\(expression)}")
    }
}
