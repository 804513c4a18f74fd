import SwitchboardCore

/// `list_processes`: the caller's background processes on this replica, running and recently finished.
struct ListProcesses: Tool {
    let definition = ToolDefinition(
        name: "list_processes",
        title: "List background processes",
        description: "List the processes you started with start_process on this replica: id, command, running or how it ended, run time, lines of output.",
        inputSchema: Schema.object([("running_only", ["type": "boolean", "description": "Leave out finished processes. Default false."])]),
        outputSchema: [
            "type": "object",
            "properties": ["processes": ["type": "array", "items": ["type": "object"]], "replica": ["type": "integer"]],
            "required": ["processes"],
        ],
        annotations: ToolAnnotations(readOnly: true, destructive: false, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        var sessions = context.runtime.processes.list(principal: context.principal)
        if arguments["running_only"]?.boolValue ?? false { sessions = sessions.filter { $0.finished == nil } }
        let summaries = sessions.map { $0.summary() }
        let text = summaries.isEmpty
            ? "no background processes"
            : sessions.map { "\($0.pid)\t\($0.finished == nil ? "running" : "ended")\t\($0.command)" }.joined(separator: "\n")
        return .structured(["processes": .array(summaries), "replica": .int(Int64(context.runtime.replica))], text: text)
    }
}
