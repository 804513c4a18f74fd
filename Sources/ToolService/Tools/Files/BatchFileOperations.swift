import CDispatch
import SwitchboardCore

/// `batch_file_operations`: several file operations in one call, in order. Every operation's arguments
/// are validated and every path is checked against the policy before the first one runs.
struct BatchFileOperations: Tool {
    /// The tools a batch may use, with their path-like arguments and the access each needs.
    static let members: [(tool: any Tool, paths: [(name: String, access: Workspace.Access)])] = [
        (ReadFile(), [("path", .read)]),
        (WriteFile(), [("path", .write)]),
        (EditFile(), [("path", .write)]),
        (CreateDirectory(), [("path", .write)]),
        (MoveFile(), [("source", .write), ("destination", .write)]),
        (GetFileInfo(), [("path", .read)]),
        (ListDirectory(), [("path", .read)]),
        (SearchFiles(), [("path", .read)]),
    ]

    private static let schemas: [String: JSONSchema] = {
        var schemas: [String: JSONSchema] = [:]
        for member in members {
            schemas[member.tool.definition.name] = try? JSONSchema(member.tool.definition.inputSchema)
        }
        return schemas
    }()

    let definition = ToolDefinition(
        name: "batch_file_operations",
        title: "Batch of file operations",
        description: """
            Run several file operations (read_file, write_file, edit_file, create_directory, move_file, get_file_info, list_directory, \
            search_files) in one call, in order. All arguments are validated and all paths checked against the policy before anything \
            runs; by default the batch stops at the first failure. Each write is atomic on its own; the batch is not a transaction.
            """,
        inputSchema: Schema.object(
            [
                (
                    "operations",
                    [
                        "type": "array", "minItems": 1, "maxItems": 100,
                        "items": Schema.object(
                            [
                                ("tool", ["enum": .array(members.map { .string($0.tool.definition.name) })]),
                                ("arguments", ["type": "object"]),
                            ],
                            required: ["tool", "arguments"]
                        ),
                    ]
                ),
                ("stop_on_error", ["type": "boolean", "description": "Stop at the first failed operation. Default true."]),
            ],
            required: ["operations"]
        ),
        outputSchema: [
            "type": "object",
            "properties": [
                "results": ["type": "array", "items": ["type": "object"]], "completed": ["type": "integer"], "failed": ["type": "integer"],
            ],
            "required": ["results", "completed", "failed"],
        ],
        annotations: ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let operations = arguments["operations"]?.arrayValue ?? []
        let stopOnError = arguments["stop_on_error"]?.boolValue ?? true
        var plan: [(tool: any Tool, arguments: JSONValue)] = []
        var problems: [String] = []
        for (index, operation) in operations.enumerated() {
            let name = operation["tool"]?.stringValue ?? ""
            guard let member = Self.members.first(where: { $0.tool.definition.name == name }) else { continue }
            let operationArguments = operation["arguments"] ?? .object([])
            problems += (Self.schemas[name]?.validate(operationArguments, at: "arguments.operations[\(index)].arguments") ?? []).map(\.description)
            for (argument, access) in member.paths {
                guard let path = operationArguments[argument]?.stringValue else { continue }
                let needed = operationArguments["dry_run"]?.boolValue == true ? .read : access
                _ = try context.policy.workspace.resolve(path, argument: "operations[\(index)].arguments.\(argument)", access: needed)
            }
            plan.append((member.tool, operationArguments))
        }
        if !problems.isEmpty { throw ToolFailure("invalid arguments: " + problems.prefix(5).joined(separator: "; ")) }
        var results: [JSONValue] = []
        var lines: [String] = []
        var failed = 0
        for (index, step) in plan.enumerated() {
            let name = step.tool.definition.name
            var entry: [(key: String, value: JSONValue)] = [("index", .int(Int64(index))), ("tool", .string(name))]
            do {
                let result = try await step.tool.call(step.arguments, context: context)
                entry.append(("is_error", .bool(result.isError)))
                let text = result.content.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
                entry.append(("result", result.structuredContent ?? .string(text)))
                lines.append("[\(index)] \(name): \(result.isError ? "failed: " : "")\(text.split(separator: "\n").first ?? "")")
                if result.isError { failed += 1 }
            } catch let denial as PolicyDenial {
                throw PolicyDenial(denial.rule, "operations[\(index)] (\(name)): \(denial.message); \(index) earlier operation(s) completed")
            } catch let failure as ToolFailure {
                failed += 1
                entry.append(("is_error", true))
                entry.append(("error", .string(failure.message)))
                lines.append("[\(index)] \(name): failed: \(failure.message)")
            }
            results.append(.object(entry))
            if failed > 0, stopOnError {
                if index + 1 < plan.count { lines.append("stopped after operation \(index); \(plan.count - index - 1) not run") }
                break
            }
        }
        var result = ToolResult.structured(
            ["results": .array(results), "completed": .int(Int64(results.count - failed)), "failed": .int(Int64(failed))],
            text: lines.joined(separator: "\n")
        )
        result.isError = failed > 0
        return result
    }
}
