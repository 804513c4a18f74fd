import SwitchboardCore

/// `execute_command`: runs a program to completion (argv by default, a shell script only where the
/// policy allows) in the workspace under Landlock, limits and its own cgroup, and returns its output.
struct ExecuteCommand: Tool {
    let definition = ToolDefinition(
        name: "execute_command",
        title: "Run a command",
        description: """
            Run a program in the workspace and wait for it to finish (at most timeout_ms). Give the program in `command` and its \
            arguments in `args`, or a plain command line such as `git status --short`; shell syntax (pipes, redirections, $(…)) needs \
            shell: true and a policy that allows it. Every program must be on the policy's allow list. Output beyond the policy's limit \
            is cut and the command stopped. For work longer than about a minute use start_process and read_process_output.
            """,
        inputSchema: Schema.object(
            CommandRequest.schemaProperties + [
                ("stdin", ["type": "string", "maxLength": 16_777_216, "description": "Text written to the program's standard input."]),
                ("timeout_ms", ["type": "integer", "minimum": 1, "maximum": 86_400_000, "description": "Wall-clock limit; the whole process group is killed when it passes. Default: the policy's timeout."]),
            ],
            required: ["command"]
        ),
        outputSchema: [
            "type": "object",
            "properties": [
                "exit_code": ["type": ["integer", "null"]], "signal": ["type": "string"], "stdout": ["type": "string"],
                "stderr": ["type": "string"], "output_truncated": ["type": "boolean"], "terminated_by": ["type": "string"],
                "duration_ms": ["type": "number"],
            ],
            "required": ["exit_code", "stdout", "stderr", "output_truncated", "duration_ms"],
        ],
        annotations: .execution
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let backend = context.backend
        let request = CommandRequest(arguments)
        let prepared = try await backend.prepare(request)
        let outcome = try await backend.run(prepared, stdin: request.stdin.map { Array($0.utf8) }, context: context)
        let stdout = String(decoding: outcome.stdout, as: UTF8.self)
        let stderr = String(decoding: outcome.stderr, as: UTF8.self)
        var members: [(key: String, value: JSONValue)] = [
            ("exit_code", outcome.exitCode.map { .int(Int64($0)) } ?? .null), ("stdout", .string(stdout)), ("stderr", .string(stderr)),
            ("output_truncated", .bool(outcome.truncated)), ("duration_ms", .double(outcome.duration.milliseconds)),
        ]
        if let signal = outcome.signalName { members.append(("signal", .string(signal))) }
        if let endedBy = outcome.endedBy { members.append(("terminated_by", .string(endedBy))) }
        var text = stdout
        if !stderr.isEmpty { text += (text.isEmpty || text.hasSuffix("\n") ? "" : "\n") + "[stderr]\n" + stderr }
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        text += "[" + Self.summary(outcome) + "]"
        var result = ToolResult.structured(.object(members), text: text)
        result.isError = outcome.endedBy != nil || outcome.exitCode == nil
        result.exitStatus = outcome.exitStatusJSON
        result.execution = outcome.execution
        if let endedBy = outcome.endedBy, endedBy != "cancelled" { result.limitHit = endedBy }
        return result
    }

    /// `exit code 0 after 12 ms`, `stopped: timeout after 30000 ms`, plus truncation.
    static func summary(_ outcome: CommandOutcome) -> String {
        let time = "\(Int(outcome.duration.milliseconds.rounded())) ms"
        var text: String
        switch (outcome.endedBy, outcome.status) {
        case (let reason?, _): text = "stopped: \(Self.reasons[reason] ?? reason) after \(time)"
        case (nil, .exited(let code)): text = "exit code \(code) after \(time)"
        case (nil, .signaled(let signal)): text = "killed by \(ExitStatus.signalName(signal)) after \(time)"
        }
        if outcome.truncated { text += "; output truncated, \(outcome.droppedBytes) bytes dropped" }
        return text
    }

    static let reasons = [
        "timeout": "timeout", "output_limit": "output limit reached", "cancelled": "cancelled", "memory": "memory limit (OOM)",
        "cpu_time": "CPU time limit", "file_size": "file size limit",
    ]
}
