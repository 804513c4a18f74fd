import SwitchboardCore

/// `check_command_exists`: whether a program can be found on the policy PATH and whether the policy
/// lets it run.
struct CheckCommandExists: Tool {
    let definition = ToolDefinition(
        name: "check_command_exists",
        title: "Check a command",
        description: "Tell whether a program exists on the policy's PATH (or at the given path) and whether the policy allows running it.",
        inputSchema: [
            "type": "object",
            "properties": ["command": ["type": "string", "minLength": 1, "maxLength": 4096, "description": "Program name or path."]],
            "required": ["command"], "additionalProperties": false,
        ],
        outputSchema: [
            "type": "object",
            "properties": [
                "command": ["type": "string"], "exists": ["type": "boolean"], "path": ["type": "string"], "allowed": ["type": "boolean"],
                "rule": ["type": "string"], "reason": ["type": "string"],
            ],
            "required": ["command", "exists", "allowed"],
        ],
        annotations: .readOnlyLocal
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let name = arguments["command"]?.stringValue ?? ""
        let cwd = context.policy.workspace.primary.path
        let commands = context.policy.commands
        var members: [(key: String, value: JSONValue)] = [("command", .string(name))]
        let path = commands.locate(name, cwd: cwd)
        members.append(("exists", .bool(path != nil)))
        if let path { members.append(("path", .string(path))) }
        do {
            _ = try commands.check(argv: [name], cwd: cwd)
            members.append(("allowed", true))
        } catch {
            members.append(("allowed", false))
            members.append(("rule", .string(error.rule)))
            members.append(("reason", .string(error.message)))
        }
        let allowed = members.contains { $0.key == "allowed" && $0.value == true }
        let text = path.map { "\(name) is \($0); \(allowed ? "allowed" : "not allowed") by the policy" } ?? "\(name) was not found on the policy PATH"
        return .structured(.object(members), text: text)
    }
}
