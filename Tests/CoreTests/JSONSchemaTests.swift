import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

struct JSONSchemaTests {
    let toolSchema: JSONValue = [
        "type": "object",
        "properties": [
            "path": ["type": "string", "minLength": 1, "pattern": "^[^\\u0000]+$"],
            "mode": ["enum": ["rewrite", "append"]],
            "offset": ["type": "integer", "minimum": 0],
            "length": ["type": "integer", "minimum": -1000, "maximum": 1000],
            "tags": ["type": "array", "items": ["type": "string"], "maxItems": 3, "uniqueItems": true],
            "kind": ["const": "file"],
        ],
        "required": ["path"],
        "additionalProperties": false,
    ]

    func violations(_ instance: String) throws -> [String] {
        try JSONSchema(toolSchema).validate(JSONParser.parse(instance), at: "arguments").map(\.description)
    }

    @Test func acceptsValidArguments() throws {
        #expect(try violations(#"{"path":"a.txt","mode":"append","offset":3,"length":-5,"tags":["x","y"],"kind":"file"}"#).isEmpty)
        #expect(try violations(#"{"path":"a.txt","offset":3.0}"#).isEmpty, "3.0 is an integer in JSON Schema")
    }

    @Test func namesTheFieldAndTheRule() throws {
        #expect(try violations(#"{}"#) == ["arguments.path: is required (required)"])
        #expect(try violations(#"{"path":1}"#) == ["arguments.path: expected string, got integer (type)"])
        #expect(try violations(#"{"path":""}"#) == [
            "arguments.path: must be at least 1 characters long (minLength)", "arguments.path: must match the pattern ^[^\\u0000]+$ (pattern)",
        ])
        #expect(try violations(#"{"path":"a","mode":"overwrite"}"#) == [#"arguments.mode: must be one of "rewrite", "append" (enum)"#])
        #expect(try violations(#"{"path":"a","offset":-1}"#) == ["arguments.offset: must be ≥ 0 (minimum)"])
        #expect(try violations(#"{"path":"a","offset":1.5}"#) == ["arguments.offset: expected integer, got number (type)"])
        #expect(try violations(#"{"path":"a","extra":true}"#) == ["arguments.extra: is not allowed here (additionalProperties)"])
        #expect(try violations(#"{"path":"a","tags":["x","x"]}"#) == ["arguments.tags[1]: duplicates an earlier item (uniqueItems)"])
        #expect(try violations(#"{"path":"a","tags":["a","b","c","d"]}"#) == ["arguments.tags: must have at most 3 items (maxItems)"])
        #expect(try violations(#"{"path":"a","tags":[1]}"#) == ["arguments.tags[0]: expected string, got integer (type)"])
        #expect(try violations(#"{"path":"a","kind":"dir"}"#) == [#"arguments.kind: must be "file" (const)"#])
    }

    @Test func combinatorsAndReferences() throws {
        let schema = try JSONSchema([
            "$defs": ["port": ["type": "integer", "minimum": 1, "maximum": 65535]],
            "oneOf": [["$ref": "#/$defs/port"], ["type": "string", "pattern": "^[0-9]+-[0-9]+$"]],
        ])
        #expect(schema.isValid(8080))
        #expect(schema.isValid("8080-8089"))
        #expect(schema.validate(70000).map(\.keyword) == ["maximum"])
        #expect(schema.validate("http").map(\.description) == ["(root): must match the pattern ^[0-9]+-[0-9]+$ (pattern)"])
        #expect(schema.validate(true).map(\.description) == ["(root): matches none of the allowed forms (oneOf)"])
        let either = try JSONSchema(["anyOf": [["type": "string"], ["type": "null"]], "not": ["const": "forbidden"]])
        #expect(either.isValid(.null))
        #expect(either.validate("forbidden").map(\.keyword) == ["not"])
        let conditional = try JSONSchema([
            "if": ["properties": ["shell": ["const": true]]], "then": ["required": ["command"]], "else": ["required": ["argv"]],
        ])
        #expect(conditional.validate(["shell": true]).map(\.description) == ["command: is required (required)"])
        #expect(conditional.validate(["shell": false]).map(\.description) == ["argv: is required (required)"])
    }

    @Test func refusesUnresolvableReferencesAndBadPatterns() {
        #expect(throws: SchemaError.self) { try JSONSchema(["$ref": "https://example.com/schema"]) }
        #expect(throws: SchemaError.self) { try JSONSchema(["pattern": "("]) }
        #expect(throws: SchemaError.self) { try JSONSchema(["properties": ["a": 3]]) }
    }

    @Test func theProjectComposeFileValidatesAgainstTheComposeSpec() throws {
        let root = TestEnvironment.packageRoot
        let spec = try JSONParser.parse(Array(try Data(contentsOf: root.appendingPathComponent("compose/compose-spec.json"))))
        let schema = try JSONSchema(spec)
        let bad = try JSONParser.parse(#"{"services":{"a":{"image":"x","deploy":{"replicas":{"n":2},"resources":{"limits":{"cpus":0.5,"memory":"1g","bogus":1}}}}}}"#)
        let problems = schema.validate(bad).map(\.description)
        #expect(problems.contains("services.a.deploy.resources.limits.bogus: is not allowed here (additionalProperties)"), "\(problems)")
        #expect(problems.contains { $0.hasPrefix("services.a.deploy.replicas:") }, "\(problems)")
        let good = try JSONParser.parse(#"{"services":{"a":{"image":"x","ports":["8080:80"],"healthcheck":{"test":["CMD","true"],"interval":"10s"},"x-switchboard":{"command":["A"]}}}}"#)
        #expect(schema.validate(good).isEmpty, "\(schema.validate(good))")
    }
}
