import SwitchboardCore

/// `send_input`: writes to a background process's standard input and returns what it printed next.
struct SendInput: Tool {
    let definition = ToolDefinition(
        name: "send_input",
        title: "Send input to a process",
        description: """
            Write text to the standard input of a process started with start_process (a REPL, a prompt), then wait up to wait_ms for \
            its answer and return the output that is new since the last read. A newline is added unless newline is false; close_stdin \
            sends end-of-file after the text.
            """,
        inputSchema: Schema.object(
            [
                ("pid", Schema.pid),
                ("input", ["type": "string", "maxLength": 1_048_576, "description": "Text to write."]),
                ("newline", ["type": "boolean", "description": "Append a newline when the text does not end with one. Default true."]),
                ("close_stdin", ["type": "boolean", "description": "Close the process's input afterwards (end of file). Default false."]),
                ("wait_ms", Schema.waitMilliseconds(default: 1000, "How long to wait for output after writing.")),
            ],
            required: ["pid", "input"]
        ),
        outputSchema: ProcessOutput.schema,
        annotations: .processControl
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let session = try context.runtime.processes.session(Int32(arguments["pid"]?.intValue ?? 0), principal: context.principal)
        var input = arguments["input"]?.stringValue ?? ""
        if arguments["newline"]?.boolValue ?? true, !input.hasSuffix("\n") { input += "\n" }
        let version = session.version
        try await session.send(Array(input.utf8), close: arguments["close_stdin"]?.boolValue ?? false, timeout: .seconds(5))
        let wait = Duration.milliseconds(arguments["wait_ms"]?.intValue ?? 1000)
        // Wait for the first output, then until it has been quiet for 100 ms (or the wait ends).
        let deadline = ContinuousClock.now + wait
        var seen = version
        await session.waitForChange(after: seen, timeout: wait)
        while session.version != seen, session.finished == nil, ContinuousClock.now < deadline {
            seen = session.version
            await session.waitForChange(after: seen, timeout: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
        return ProcessOutput.result(session, read: session.read(offset: 0, length: 10000), replica: context.runtime.replica)
    }
}
