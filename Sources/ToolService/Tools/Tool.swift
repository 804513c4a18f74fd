import SwitchboardCore

/// Hints about a tool's behaviour, published in `tools/list` (MCP `ToolAnnotations`). The gateway's
/// result cache stores read-only and idempotent results and invalidates them on writes.
struct ToolAnnotations: Sendable {
    var readOnly = false
    var destructive = true
    var idempotent = false
    var openWorld = false

    /// Reads local state only.
    static let readOnlyLocal = ToolAnnotations(readOnly: true, destructive: false, idempotent: true, openWorld: false)
    /// Changes files; repeating the same call gives the same state.
    static let idempotentWrite = ToolAnnotations(readOnly: false, destructive: true, idempotent: true, openWorld: false)
    /// Adds something without replacing (create a directory): safe to repeat.
    static let additive = ToolAnnotations(readOnly: false, destructive: false, idempotent: true, openWorld: false)
    /// Runs programs: anything may happen, including network access.
    static let execution = ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: true)
    /// Acts on a process started earlier.
    static let processControl = ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: false)
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
    /// For the audit log, not sent: how a command ended (`{"code":0}` or `{"signal":"SIGKILL"}`).
    var exitStatus: JSONValue?
    /// For the audit log and `_meta`: limits applied, what ended a command, resources used.
    var execution: JSONValue?
    /// The limit that ended a command (timeout, output_limit, memory, cpu_time, file_size), for metrics.
    var limitHit: String?

    /// A text result.
    static func text(_ text: String) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: nil, isError: false)
    }

    /// A structured result, also rendered as JSON text for clients that ignore `structuredContent`.
    static func structured(_ value: JSONValue) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(value.jsonString)]], structuredContent: value, isError: false)
    }

    /// A structured result with a human-readable text rendering.
    static func structured(_ value: JSONValue, text: String) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: value, isError: false)
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

/// Who is calling, under which policy, and how to report progress and log messages.
struct ToolContext: Sendable {
    let principal: String
    let requestID: String
    /// `X-Switchboard-Call-ID`, or one generated for the call.
    let callID: String
    /// The policy snapshot this call runs under.
    let policy: ActivePolicy
    let runtime: ToolRuntime
    /// Reports progress; ignored when the caller did not ask for a stream.
    let progress: @Sendable (_ progress: Double, _ total: Double?, _ message: String?) async -> Void
    /// Sends a log message (`debug` … `emergency`, MCP levels); ignored without a stream.
    let log: @Sendable (_ level: String, _ data: JSONValue) async -> Void

    init(
        principal: String, requestID: String = RequestID.generate(), callID: String? = nil, runtime: ToolRuntime, policy: ActivePolicy? = nil,
        progress: @escaping @Sendable (Double, Double?, String?) async -> Void = { _, _, _ in },
        log: @escaping @Sendable (String, JSONValue) async -> Void = { _, _ in }
    ) {
        self.principal = principal
        self.requestID = requestID
        self.callID = callID ?? requestID
        self.runtime = runtime
        self.policy = policy ?? runtime.policies.current
        self.progress = progress
        self.log = log
    }

    /// The native backend under this call's policy.
    var backend: NativeBackend { NativeBackend(policy: policy, cgroups: runtime.cgroups) }
}

/// A tool the service offers. Adding a tool is one file with one type conforming to this, listed in
/// ``ToolCatalog/standard()``.
protocol Tool: Sendable {
    var definition: ToolDefinition { get }
    /// Runs the tool with arguments that already passed the input schema. Throw ``PolicyDenial`` for
    /// a policy refusal and ``ToolFailure`` for anything the caller can fix; both become `isError` results.
    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult
}

/// Builders for the input schemas of the tools.
enum Schema {
    /// A closed object schema (`additionalProperties: false`).
    static func object(_ properties: [(key: String, value: JSONValue)], required: [String] = []) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("type", "object"), ("properties", .object(properties))]
        if !required.isEmpty { members.append(("required", .array(required.map { .string($0) }))) }
        members.append(("additionalProperties", false))
        return .object(members)
    }

    /// A path argument (relative to the workspace root, `~` expanded).
    static func path(_ description: String) -> JSONValue {
        ["type": "string", "minLength": 1, "maxLength": 4096, "description": .string(description + " Relative paths start at the workspace root; ~ is expanded.")]
    }

    static let pid: JSONValue = ["type": "integer", "minimum": 1, "maximum": 4_194_304, "description": "Process id returned by start_process."]
    static func waitMilliseconds(default value: Int, _ description: String) -> JSONValue {
        ["type": "integer", "minimum": 0, "maximum": 30000, "description": .string("\(description) Default \(value).")]
    }
}
