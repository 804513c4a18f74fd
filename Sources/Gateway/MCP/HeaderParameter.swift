import SwitchboardCore

/// A tool argument a 2026-07-28 client mirrors into an `Mcp-Param-<token>` header (`"x-mcp-header": "<token>"`
/// on a property reached through `properties` from the schema root), and the check that header and body agree.
struct HeaderParameter: Sendable {
    let token: String
    /// The `properties` keys from the root to the argument.
    let path: [String]
    /// The property's JSON Schema type: string, integer or boolean.
    let type: String

    struct Problem: Error {
        let reason: String
    }

    /// Every annotated property of `schema`; an invalid annotation makes the whole schema invalid
    /// (conforming clients drop such tools).
    static func all(in schema: JSONValue) -> Result<[HeaderParameter], Problem> {
        var found: [HeaderParameter] = []
        var seen: [String: String] = [:]
        func walk(_ node: JSONValue, path: [String]) -> Problem? {
            for (key, property) in node["properties"]?.objectValue ?? [] {
                let here = path + [key]
                let place = here.joined(separator: ".")
                if let annotation = property["x-mcp-header"] {
                    guard let token = annotation.stringValue, isToken(token) else {
                        return Problem(reason: "property '\(place)': x-mcp-header must be an RFC 9110 token")
                    }
                    guard let type = property["type"]?.stringValue, ["string", "integer", "boolean"].contains(type) else {
                        return Problem(reason: "property '\(place)': x-mcp-header is only permitted on integer/string/boolean properties")
                    }
                    if let other = seen[token.lowercased()] {
                        return Problem(reason: "x-mcp-header '\(token)' on property '\(place)' duplicates property '\(other)'")
                    }
                    seen[token.lowercased()] = place
                    found.append(HeaderParameter(token: token, path: here, type: type))
                }
                if let problem = walk(property, path: here) { return problem }
            }
            return nil
        }
        if let problem = walk(schema, path: []) { return .failure(problem) }
        return .success(found)
    }

    /// RFC 9110 `token`: one or more of ALPHA / DIGIT / ``!#$%&'*+-.^_`|~``.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    /// The -32020 error when the `Mcp-Param-*` headers and the arguments disagree, else nil: each annotated
    /// argument and its header must be present together (null counts as absent) and equal.
    static func check(_ parameters: [HeaderParameter], arguments: JSONValue, headers: [(token: String, value: String)]) -> JSONRPCError? {
        for parameter in parameters {
            let name = "Mcp-Param-\(parameter.token)"
            let matching = headers.filter { $0.token == parameter.token.lowercased() }
            if matching.count > 1 { return JSONRPCError(.headerMismatch, "\(name) header appears more than once") }
            let header = matching.first?.value
            let argument = parameter.path.joined(separator: ".")
            var value: JSONValue? = arguments
            for key in parameter.path { value = value?[key] }
            guard let value, !value.isNull else {
                if header != nil { return JSONRPCError(.headerMismatch, "\(name) header is present but the request body's '\(argument)' argument is absent") }
                continue
            }
            guard let rendered = render(value) else {
                if header != nil { return JSONRPCError(.headerMismatch, "\(name) header does not match the request body's '\(argument)' argument") }
                continue
            }
            guard let header else {
                return JSONRPCError(.headerMismatch, "\(name) header is missing but the request body's '\(argument)' argument is present")
            }
            guard let decoded = HeaderValue.decode(header) else {
                return JSONRPCError(.headerMismatch, "\(name) header carries a malformed base64 sentinel value")
            }
            if !matches(type: parameter.type, value: value, rendered: rendered, decoded: decoded) {
                return JSONRPCError(.headerMismatch, "\(name) header does not match the request body's '\(argument)' argument")
            }
        }
        return nil
    }

    /// How a client writes an argument into its header; nil for values that have no header form.
    static func render(_ value: JSONValue) -> String? {
        switch value {
        case .bool(let flag): return flag ? "true" : "false"
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return number.description
        default: return nil
        }
    }

    /// Integer arguments compare numerically with a plain decimal header (`42` matches `42.0`); everything else as text.
    static func matches(type: String, value: JSONValue, rendered: String, decoded: String) -> Bool {
        if type == "integer", let integer = value.intValue, value.boolValue == nil, isPlainDecimal(decoded) {
            let parts = decoded.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 2, !parts[1].allSatisfy({ $0 == "0" }) { return false }
            return Int64(parts[0]) == integer
        }
        return decoded == rendered
    }

    private static func isPlainDecimal(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}
