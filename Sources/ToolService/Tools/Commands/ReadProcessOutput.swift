import SwitchboardCore

/// `read_process_output`: lines a background process printed, by line offset (negative = tail).
struct ReadProcessOutput: Tool {
    let definition = ToolDefinition(
        name: "read_process_output",
        title: "Read process output",
        description: """
            Read what a process started with start_process printed (stdout and stderr, merged, by line). offset 0 returns what is new \
            since the last such read; a positive offset reads from that line (0-based); a negative offset returns the last -offset lines. \
            With wait_ms, waits for new output when there is none yet. Also tells whether the process is still running and how it ended.
            """,
        inputSchema: Schema.object(
            [
                ("pid", Schema.pid),
                ("offset", ["type": "integer", "minimum": -1_000_000_000, "maximum": 1_000_000_000, "description": "0: new since the last read; >0: from that line; <0: the last lines. Default 0."]),
                ("length", ["type": "integer", "minimum": 1, "maximum": 100_000, "description": "Most lines to return. Default 1000."]),
                ("wait_ms", Schema.waitMilliseconds(default: 0, "With offset 0: how long to wait for new output when there is none.")),
            ],
            required: ["pid"]
        ),
        outputSchema: ProcessOutput.schema,
        annotations: ToolAnnotations(readOnly: true, destructive: false, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let session = try context.runtime.processes.session(Int32(arguments["pid"]?.intValue ?? 0), principal: context.principal)
        let offset = Int(arguments["offset"]?.intValue ?? 0)
        let length = Int(arguments["length"]?.intValue ?? 1000)
        let wait = Duration.milliseconds(arguments["wait_ms"]?.intValue ?? 0)
        if offset == 0, wait > .zero, session.finished == nil, !session.hasUnreadOutput {
            await session.waitForChange(after: session.version, timeout: wait)
        }
        return ProcessOutput.result(session, read: session.read(offset: offset, length: length), replica: context.runtime.replica)
    }
}
