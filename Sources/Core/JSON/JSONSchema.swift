import Foundation

/// One way an instance fails its schema: where, which keyword, and what was expected.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// Location in the instance: `arguments.path`, `services.gateway.deploy.replicas`, `items[2]`.
    public let path: String
    /// The JSON Schema keyword that failed (`type`, `required`, `pattern`, …).
    public let keyword: String
    public let message: String
    public var description: String { "\(path): \(message) (\(keyword))" }
}

/// Why a schema could not be compiled.
public struct SchemaError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A compiled JSON Schema validator covering the keywords of draft-07 and 2020-12 that the suite
/// uses: type, enum, const, properties, required, additionalProperties, patternProperties,
/// propertyNames, minProperties/maxProperties, items, prefixItems, additionalItems, minItems/maxItems,
/// uniqueItems, contains, minimum/maximum, exclusiveMinimum/exclusiveMaximum (number and draft-04
/// boolean forms), multipleOf, minLength/maxLength, pattern, allOf, anyOf, oneOf, not, if/then/else,
/// dependentRequired, and local `$ref` (`#`, `#/definitions/…`, `#/$defs/…`).
/// Annotations (title, description, default, format, examples, deprecated) are ignored.
public struct JSONSchema: Sendable {
    private let root: SchemaNode
    private let definitions: [String: SchemaNode]

    public init(_ schema: JSONValue) throws(SchemaError) {
        var compiler = SchemaCompiler()
        root = try compiler.compile(schema, at: "#")
        var definitions: [String: SchemaNode] = ["#": root]
        for container in ["definitions", "$defs"] {
            for (name, value) in schema[container]?.objectValue ?? [] {
                definitions["#/\(container)/\(name)"] = try compiler.compile(value, at: "#/\(container)/\(name)")
            }
        }
        self.definitions = definitions
        for reference in compiler.references where definitions[reference] == nil {
            throw SchemaError(description: "unresolvable $ref '\(reference)' (only local definitions are supported)")
        }
    }

    /// Every violation, in document order of the instance. Empty when the instance is valid.
    public func validate(_ instance: JSONValue, at path: String = "") -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        check(instance, against: root, path: path, into: &violations, depth: 0)
        return violations
    }

    public func isValid(_ instance: JSONValue) -> Bool {
        validate(instance).isEmpty
    }

    // MARK: Validation

    private func check(_ value: JSONValue, against node: SchemaNode, path: String, into violations: inout [SchemaViolation], depth: Int) {
        guard depth < 64 else {
            violations.append(.init(path: display(path), keyword: "$ref", message: "schema recursion deeper than 64"))
            return
        }
        if let fixed = node.fixed {
            if !fixed { violations.append(.init(path: display(path), keyword: "false", message: "no value is allowed here")) }
            return
        }
        if let reference = node.reference, let target = definitions[reference] {
            check(value, against: target, path: path, into: &violations, depth: depth + 1)
        }
        if let types = node.types, !types.contains(where: { Self.matches(value, type: $0) }) {
            let expected = types.count == 1 ? types[0] : "one of \(types.joined(separator: ", "))"
            violations.append(.init(path: display(path), keyword: "type", message: "expected \(expected), got \(value.typeName)"))
            return
        }
        if let constant = node.constant, value != constant {
            violations.append(.init(path: display(path), keyword: "const", message: "must be \(constant.jsonString)"))
        }
        if let choices = node.choices, !choices.contains(value) {
            let shown = choices.prefix(10).map(\.jsonString).joined(separator: ", ")
            violations.append(.init(path: display(path), keyword: "enum", message: "must be one of \(shown)\(choices.count > 10 ? ", …" : "")"))
        }
        switch value {
        case .string(let text): checkString(text, node: node, path: path, into: &violations)
        case .int, .double: checkNumber(value.doubleValue ?? 0, node: node, path: path, into: &violations)
        case .array(let elements): checkArray(elements, node: node, path: path, into: &violations, depth: depth)
        case .object(let members): checkObject(members, node: node, path: path, into: &violations, depth: depth)
        default: break
        }
        for sub in node.allOf { check(value, against: sub, path: path, into: &violations, depth: depth + 1) }
        if !node.anyOf.isEmpty {
            var failures: [[SchemaViolation]] = []
            for sub in node.anyOf {
                var attempt: [SchemaViolation] = []
                check(value, against: sub, path: path, into: &attempt, depth: depth + 1)
                if attempt.isEmpty {
                    failures = []
                    break
                }
                failures.append(attempt)
            }
            if !failures.isEmpty { violations.append(contentsOf: summarize(failures, keyword: "anyOf", path: path)) }
        }
        if !node.oneOf.isEmpty {
            var passing = 0
            var failures: [[SchemaViolation]] = []
            for sub in node.oneOf {
                var attempt: [SchemaViolation] = []
                check(value, against: sub, path: path, into: &attempt, depth: depth + 1)
                if attempt.isEmpty { passing += 1 } else { failures.append(attempt) }
            }
            if passing == 0 {
                violations.append(contentsOf: summarize(failures, keyword: "oneOf", path: path))
            } else if passing > 1 {
                violations.append(.init(path: display(path), keyword: "oneOf", message: "matches \(passing) alternatives, exactly one is allowed"))
            }
        }
        if let not = node.not {
            var attempt: [SchemaViolation] = []
            check(value, against: not, path: path, into: &attempt, depth: depth + 1)
            if attempt.isEmpty { violations.append(.init(path: display(path), keyword: "not", message: "must not match the excluded schema")) }
        }
        if let condition = node.ifSchema {
            var attempt: [SchemaViolation] = []
            check(value, against: condition, path: path, into: &attempt, depth: depth + 1)
            if attempt.isEmpty, let then = node.thenSchema {
                check(value, against: then, path: path, into: &violations, depth: depth + 1)
            } else if !attempt.isEmpty, let otherwise = node.elseSchema {
                check(value, against: otherwise, path: path, into: &violations, depth: depth + 1)
            }
        }
    }

    /// When exactly one alternative accepts the value's type, its own violations say best what is wrong;
    /// otherwise one summary line.
    private func summarize(_ failures: [[SchemaViolation]], keyword: String, path: String) -> [SchemaViolation] {
        let here = display(path)
        let compatible = failures.filter { !($0.count == 1 && $0[0].keyword == "type" && $0[0].path == here) }
        if compatible.count == 1 { return compatible[0] }
        return [.init(path: here, keyword: keyword, message: "matches none of the allowed forms")]
    }

    private func checkString(_ text: String, node: SchemaNode, path: String, into violations: inout [SchemaViolation]) {
        if node.minLength != nil || node.maxLength != nil {
            let length = text.unicodeScalars.count
            if let minimum = node.minLength, length < minimum {
                violations.append(.init(path: display(path), keyword: "minLength", message: "must be at least \(minimum) characters long"))
            }
            if let maximum = node.maxLength, length > maximum {
                violations.append(.init(path: display(path), keyword: "maxLength", message: "must be at most \(maximum) characters long"))
            }
        }
        if let pattern = node.pattern, !pattern.matches(text) {
            violations.append(.init(path: display(path), keyword: "pattern", message: "must match the pattern \(pattern.source)"))
        }
    }

    private func checkNumber(_ number: Double, node: SchemaNode, path: String, into violations: inout [SchemaViolation]) {
        if let minimum = node.minimum, number < minimum {
            violations.append(.init(path: display(path), keyword: "minimum", message: "must be ≥ \(Self.format(minimum))"))
        }
        if let maximum = node.maximum, number > maximum {
            violations.append(.init(path: display(path), keyword: "maximum", message: "must be ≤ \(Self.format(maximum))"))
        }
        if let minimum = node.exclusiveMinimum, number <= minimum {
            violations.append(.init(path: display(path), keyword: "exclusiveMinimum", message: "must be > \(Self.format(minimum))"))
        }
        if let maximum = node.exclusiveMaximum, number >= maximum {
            violations.append(.init(path: display(path), keyword: "exclusiveMaximum", message: "must be < \(Self.format(maximum))"))
        }
        if let divisor = node.multipleOf, divisor > 0 {
            let quotient = number / divisor
            if abs(quotient - quotient.rounded()) > 1e-9 {
                violations.append(.init(path: display(path), keyword: "multipleOf", message: "must be a multiple of \(Self.format(divisor))"))
            }
        }
    }

    private func checkArray(_ elements: [JSONValue], node: SchemaNode, path: String, into violations: inout [SchemaViolation], depth: Int) {
        if let minimum = node.minItems, elements.count < minimum {
            violations.append(.init(path: display(path), keyword: "minItems", message: "must have at least \(minimum) items"))
        }
        if let maximum = node.maxItems, elements.count > maximum {
            violations.append(.init(path: display(path), keyword: "maxItems", message: "must have at most \(maximum) items"))
        }
        for (index, element) in elements.enumerated() {
            let elementPath = "\(path)[\(index)]"
            if index < node.prefixItems.count {
                check(element, against: node.prefixItems[index], path: elementPath, into: &violations, depth: depth + 1)
            } else if let items = node.items {
                check(element, against: items, path: elementPath, into: &violations, depth: depth + 1)
            }
        }
        if node.uniqueItems {
            for index in elements.indices where elements[..<index].contains(elements[index]) {
                violations.append(.init(path: display("\(path)[\(index)]"), keyword: "uniqueItems", message: "duplicates an earlier item"))
            }
        }
        if let contains = node.contains {
            let found = elements.contains { element in
                var attempt: [SchemaViolation] = []
                check(element, against: contains, path: path, into: &attempt, depth: depth + 1)
                return attempt.isEmpty
            }
            if !found { violations.append(.init(path: display(path), keyword: "contains", message: "must contain a matching item")) }
        }
    }

    private func checkObject(
        _ members: [(key: String, value: JSONValue)], node: SchemaNode, path: String, into violations: inout [SchemaViolation], depth: Int
    ) {
        for name in node.required where !members.contains(where: { $0.key == name }) {
            violations.append(.init(path: display(join(path, name)), keyword: "required", message: "is required"))
        }
        for (name, needed) in node.dependentRequired where members.contains(where: { $0.key == name }) {
            for other in needed where !members.contains(where: { $0.key == other }) {
                violations.append(.init(path: display(join(path, other)), keyword: "dependentRequired", message: "is required when \(name) is present"))
            }
        }
        if let minimum = node.minProperties, members.count < minimum {
            violations.append(.init(path: display(path), keyword: "minProperties", message: "must have at least \(minimum) members"))
        }
        if let maximum = node.maxProperties, members.count > maximum {
            violations.append(.init(path: display(path), keyword: "maxProperties", message: "must have at most \(maximum) members"))
        }
        for (name, value) in members {
            let memberPath = join(path, name)
            if let names = node.propertyNames {
                var attempt: [SchemaViolation] = []
                check(.string(name), against: names, path: memberPath, into: &attempt, depth: depth + 1)
                if !attempt.isEmpty { violations.append(.init(path: display(memberPath), keyword: "propertyNames", message: "is not an allowed name")) }
            }
            var covered = false
            if let property = node.properties.first(where: { $0.name == name }) {
                covered = true
                check(value, against: property.schema, path: memberPath, into: &violations, depth: depth + 1)
            }
            for (pattern, schema) in node.patternProperties where pattern.matches(name) {
                covered = true
                check(value, against: schema, path: memberPath, into: &violations, depth: depth + 1)
            }
            if !covered {
                switch node.additional {
                case .allowed: break
                case .forbidden:
                    violations.append(.init(path: display(memberPath), keyword: "additionalProperties", message: "is not allowed here"))
                case .schema(let schema):
                    check(value, against: schema, path: memberPath, into: &violations, depth: depth + 1)
                }
            }
        }
    }

    private func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    private func display(_ path: String) -> String {
        path.isEmpty ? "(root)" : path
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .int), ("number", .double): return true
        case ("integer", .int): return true
        case ("integer", .double(let d)): return d.rounded() == d
        default: return false
        }
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

/// A compiled regular expression, thread-safe for matching.
final class SchemaPattern: @unchecked Sendable {
    let source: String
    private let expression: NSRegularExpression

    init(_ source: String) throws(SchemaError) {
        self.source = source
        do {
            expression = try NSRegularExpression(pattern: source)
        } catch {
            throw SchemaError(description: "invalid pattern '\(source)'")
        }
    }

    /// ECMA-262 semantics: the pattern may match anywhere unless anchored.
    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// One compiled schema object.
final class SchemaNode: Sendable {
    enum Additional: Sendable {
        case allowed, forbidden
        case schema(SchemaNode)
    }

    /// `true` / `false` schemas.
    let fixed: Bool?
    let reference: String?
    let types: [String]?
    let constant: JSONValue?
    let choices: [JSONValue]?
    let minLength: Int?
    let maxLength: Int?
    let pattern: SchemaPattern?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Double?
    let exclusiveMaximum: Double?
    let multipleOf: Double?
    let items: SchemaNode?
    let prefixItems: [SchemaNode]
    let minItems: Int?
    let maxItems: Int?
    let uniqueItems: Bool
    let contains: SchemaNode?
    let properties: [(name: String, schema: SchemaNode)]
    let patternProperties: [(SchemaPattern, SchemaNode)]
    let additional: Additional
    let required: [String]
    let dependentRequired: [(String, [String])]
    let propertyNames: SchemaNode?
    let minProperties: Int?
    let maxProperties: Int?
    let allOf: [SchemaNode]
    let anyOf: [SchemaNode]
    let oneOf: [SchemaNode]
    let not: SchemaNode?
    let ifSchema: SchemaNode?
    let thenSchema: SchemaNode?
    let elseSchema: SchemaNode?

    init(fixed: Bool) {
        self.fixed = fixed
        reference = nil; types = nil; constant = nil; choices = nil; minLength = nil; maxLength = nil; pattern = nil
        minimum = nil; maximum = nil; exclusiveMinimum = nil; exclusiveMaximum = nil; multipleOf = nil; items = nil
        prefixItems = []; minItems = nil; maxItems = nil; uniqueItems = false; contains = nil; properties = []
        patternProperties = []; additional = .allowed; required = []; dependentRequired = []; propertyNames = nil
        minProperties = nil; maxProperties = nil; allOf = []; anyOf = []; oneOf = []; not = nil; ifSchema = nil
        thenSchema = nil; elseSchema = nil
    }

    init(_ schema: JSONValue, compiler: inout SchemaCompiler, location: String) throws(SchemaError) {
        func sub(_ key: String) throws(SchemaError) -> SchemaNode? {
            guard let value = schema[key] else { return nil }
            return try compiler.compile(value, at: "\(location)/\(key)")
        }
        func list(_ key: String) throws(SchemaError) -> [SchemaNode] {
            guard let value = schema[key] else { return [] }
            guard let elements = value.arrayValue else { throw SchemaError(description: "\(location)/\(key) must be an array of schemas") }
            var nodes: [SchemaNode] = []
            for (index, element) in elements.enumerated() { nodes.append(try compiler.compile(element, at: "\(location)/\(key)/\(index)")) }
            return nodes
        }
        func int(_ key: String) -> Int? { schema[key]?.intValue.map(Int.init) }
        fixed = nil
        if let reference = schema["$ref"]?.stringValue {
            self.reference = reference
            compiler.references.insert(reference)
        } else {
            reference = nil
        }
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: types = nil
        }
        constant = schema["const"]
        choices = schema["enum"]?.arrayValue
        minLength = int("minLength")
        maxLength = int("maxLength")
        pattern = try schema["pattern"]?.stringValue.map { text throws(SchemaError) in try SchemaPattern(text) }
        minimum = schema["minimum"]?.doubleValue
        maximum = schema["maximum"]?.doubleValue
        // Draft-04 used booleans that make minimum/maximum exclusive.
        if case .bool(let exclusive)? = schema["exclusiveMinimum"] {
            exclusiveMinimum = exclusive ? schema["minimum"]?.doubleValue : nil
        } else {
            exclusiveMinimum = schema["exclusiveMinimum"]?.doubleValue
        }
        if case .bool(let exclusive)? = schema["exclusiveMaximum"] {
            exclusiveMaximum = exclusive ? schema["maximum"]?.doubleValue : nil
        } else {
            exclusiveMaximum = schema["exclusiveMaximum"]?.doubleValue
        }
        multipleOf = schema["multipleOf"]?.doubleValue
        // Draft-07 tuple form `items: [...]` + `additionalItems`; 2020-12 `prefixItems` + `items`.
        if case .array = schema["items"] {
            prefixItems = try list("items")
            items = try sub("additionalItems")
        } else {
            prefixItems = try list("prefixItems")
            items = try sub("items")
        }
        minItems = int("minItems")
        maxItems = int("maxItems")
        uniqueItems = schema["uniqueItems"]?.boolValue ?? false
        contains = try sub("contains")
        var properties: [(name: String, schema: SchemaNode)] = []
        for (name, value) in schema["properties"]?.objectValue ?? [] {
            properties.append((name, try compiler.compile(value, at: "\(location)/properties/\(name)")))
        }
        self.properties = properties
        var patterns: [(SchemaPattern, SchemaNode)] = []
        for (text, value) in schema["patternProperties"]?.objectValue ?? [] {
            patterns.append((try SchemaPattern(text), try compiler.compile(value, at: "\(location)/patternProperties/\(text)")))
        }
        patternProperties = patterns
        switch schema["additionalProperties"] {
        case .bool(false)?: additional = .forbidden
        case .object?: additional = .schema(try compiler.compile(schema["additionalProperties"]!, at: "\(location)/additionalProperties"))
        default: additional = .allowed
        }
        required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var dependent: [(String, [String])] = []
        for (name, value) in (schema["dependentRequired"] ?? schema["dependencies"])?.objectValue ?? [] {
            if let names = value.arrayValue { dependent.append((name, names.compactMap(\.stringValue))) }
        }
        dependentRequired = dependent
        propertyNames = try sub("propertyNames")
        minProperties = int("minProperties")
        maxProperties = int("maxProperties")
        allOf = try list("allOf")
        anyOf = try list("anyOf")
        oneOf = try list("oneOf")
        not = try sub("not")
        ifSchema = try sub("if")
        thenSchema = try sub("then")
        elseSchema = try sub("else")
    }
}

/// Compiles schema documents into nodes and records the references they use.
struct SchemaCompiler {
    var references: Set<String> = []

    mutating func compile(_ schema: JSONValue, at location: String) throws(SchemaError) -> SchemaNode {
        switch schema {
        case .bool(let fixed): return SchemaNode(fixed: fixed)
        case .object: return try SchemaNode(schema, compiler: &self, location: location)
        default: throw SchemaError(description: "\(location) must be a schema object or a boolean")
        }
    }
}
