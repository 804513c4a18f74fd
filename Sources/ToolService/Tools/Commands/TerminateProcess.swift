import Foundation
import SwitchboardCore

/// `terminate_process`: stops a background process and everything it started.
struct TerminateProcess: Tool {
    static let signals: [String: Int32] = ["TERM": SIGTERM, "INT": SIGINT, "HUP": SIGHUP, "QUIT": SIGQUIT, "KILL": SIGKILL]

    let definition = ToolDefinition(
        name: "terminate_process",
        title: "Terminate a process",
        description: "Stop a process started with start_process: send the signal to its whole process group, wait grace_ms, then kill everything it started. Returns how it ended and its last output.",
        inputSchema: Schema.object(
            [
                ("pid", Schema.pid),
                ("signal", ["enum": ["TERM", "INT", "HUP", "QUIT", "KILL"], "description": "Signal sent first. Default TERM."]),
                ("grace_ms", ["type": "integer", "minimum": 0, "maximum": 60000, "description": "Wait before killing. Default 2000."]),
            ],
            required: ["pid"]
        ),
        outputSchema: ProcessOutput.schema,
        annotations: ToolAnnotations(readOnly: false, destructive: true, idempotent: true, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let processes = context.runtime.processes
        let session = try processes.session(Int32(arguments["pid"]?.intValue ?? 0), principal: context.principal)
        if session.finished == nil {
            let signal = Self.signals[arguments["signal"]?.stringValue ?? "TERM"] ?? SIGTERM
            await processes.terminate(session, signal: signal, grace: .milliseconds(arguments["grace_ms"]?.intValue ?? 2000))
        }
        return ProcessOutput.result(session, read: session.read(offset: -20, length: 20), replica: context.runtime.replica)
    }
}
