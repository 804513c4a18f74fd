import SwitchboardCore

/// Hints about a tool's behaviour, published in `tools/list` (MCP `ToolAnnotations`).
struct ToolAnnotations: Sendable {
    var readOnly = false
    var destructive = true
    var idempotent = false
    var openWorld = false

    static let readOnlyLocal = ToolAnnotations(readOnly: true, destructive: false, idempotent: true, openWorld: false)
}

/// What a tool declares: the MCP `Tool` object without its runtime.
struct ToolDefinition: Sendable {
    /// 1–64 characters of `[A-Za-z0-9_./-]`.
    let name: String
    let title: String
    let description: String
    /// A JSON Schema (2020-12 subset) of type object.
    let inputSchema: JSONValue
    /// Present when the result carries `structuredContent`.
    var outputSchema: JSONValue?
    var annotations: ToolAnnotations
    /// Members of the tool's `_meta` (e.g. `io.switchboard/requiredClientCapabilities`).
    var meta: [(key: String, value: JSONValue)] = []

    /// The MCP `Tool` object.
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)),
            ("title", .string(title)),
            ("description", .string(description)),
            ("inputSchema", inputSchema),
        ]
        if let outputSchema { members.append(("outputSchema", outputSchema)) }
        members.append(
            (
                "annotations",
                [
                    "title": .string(title),
                    "readOnlyHint": .bool(annotations.readOnly),
                    "destructiveHint": .bool(annotations.destructive),
                    "idempotentHint": .bool(annotations.idempotent),
                    "openWorldHint": .bool(annotations.openWorld),
                ]
            )
        )
        if !meta.isEmpty { members.append(("_meta", .object(meta))) }
        return .object(members)
    }
}

/// The outcome of a tool call: an MCP `CallToolResult`.
struct ToolResult: Sendable {
    var content: [JSONValue]
    var structuredContent: JSONValue?
    var isError: Bool
    /// Extra `_meta` members (limits applied, truncation, isolation in force).
    var meta: [(key: String, value: JSONValue)] = []

    /// A text result.
    static func text(_ text: String) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: nil, isError: false)
    }

    /// A structured result, also rendered as JSON text for clients that ignore `structuredContent`.
    static func structured(_ value: JSONValue) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(value.jsonString)]], structuredContent: value, isError: false)
    }

    /// A failure the model should see and can act on.
    static func error(_ message: String) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(message)]], structuredContent: nil, isError: true)
    }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("content", .array(content))]
        if let structuredContent { members.append(("structuredContent", structuredContent)) }
        members.append(("isError", .bool(isError)))
        if !meta.isEmpty { members.append(("_meta", .object(meta))) }
        return .object(members)
    }
}

/// Who is calling and how to report progress and log lines.
struct ToolContext: Sendable {
    let principal: String
    let requestID: String
    /// Reports progress; ignored when the caller did not ask for a stream.
    let progress: @Sendable (_ progress: Double, _ total: Double?, _ message: String?) async -> Void
    /// Sends a log line to the caller (MCP `notifications/message`); ignored when the caller did not ask for a stream.
    var log: @Sendable (_ level: ToolLogLevel, _ data: JSONValue) async -> Void = { _, _ in }

    static func detached(principal: String = "test") -> ToolContext {
        ToolContext(principal: principal, requestID: RequestID.generate(), progress: { _, _, _ in })
    }
}

/// A tool the service offers. Adding a tool is one file with one type conforming to this.
protocol Tool: Sendable {
    var definition: ToolDefinition { get }
    /// Runs the tool with arguments that already passed the input schema.
    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult
}
