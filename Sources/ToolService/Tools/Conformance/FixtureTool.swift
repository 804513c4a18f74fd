import SwitchboardCore

/// A tool defined by a definition and a closure: the form the conformance fixtures take.
struct FixtureTool: Tool {
    let definition: ToolDefinition
    let body: @Sendable (_ arguments: JSONValue, _ context: ToolContext) async throws -> ToolResult

    init(
        _ name: String, _ description: String, inputSchema: JSONValue = FixtureTool.noArguments,
        meta: [(key: String, value: JSONValue)] = [],
        body: @escaping @Sendable (_ arguments: JSONValue, _ context: ToolContext) async throws -> ToolResult
    ) {
        definition = ToolDefinition(
            name: name, title: name, description: description, inputSchema: inputSchema, annotations: .readOnlyLocal, meta: meta
        )
        self.body = body
    }

    static let noArguments: JSONValue = ["type": "object", "properties": [:], "additionalProperties": false]

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        try await body(arguments, context)
    }
}
