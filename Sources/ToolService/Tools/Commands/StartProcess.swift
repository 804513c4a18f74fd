import Foundation
import SwitchboardCore

/// `start_process`: starts a program that keeps running after the call returns (builds, servers,
/// REPLs, anything longer than a client's request timeout); read it with `read_process_output`.
struct StartProcess: Tool {
    let definition = ToolDefinition(
        name: "start_process",
        title: "Start a background process",
        description: """
            Start a program that keeps running after this call returns, for work longer than a request timeout, servers and REPLs. \
            Waits up to wait_ms for the first output (or the end), then returns the process id. Read more output with \
            read_process_output, write to it with send_input, stop it with terminate_process. The same command policy, sandbox and \
            limits as execute_command apply; the process ends at the policy's session lifetime at the latest.
            """,
        inputSchema: Schema.object(
            CommandRequest.schemaProperties + [
                ("wait_ms", Schema.waitMilliseconds(default: 1000, "How long to wait for first output or the end before returning.")),
                ("timeout_ms", ["type": "integer", "minimum": 1, "maximum": 604_800_000, "description": "Lifetime after which the process is stopped. Default and maximum: the policy's session_lifetime."]),
            ],
            required: ["command"]
        ),
        outputSchema: ProcessOutput.schema,
        annotations: .execution
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        var request = CommandRequest(arguments)
        let maximum = context.policy.limits.sessionLifetime
        let lifetime = request.timeout ?? maximum
        guard lifetime <= maximum else {
            throw PolicyDenial("limits.session_lifetime", "arguments.timeout_ms exceeds the policy's session_lifetime (\(maximum))")
        }
        request.timeout = nil
        let backend = context.backend
        let prepared = try await backend.prepare(request)
        let session = try await context.runtime.processes.start(prepared, backend: backend, principal: context.principal, lifetime: lifetime)
        let wait = Duration.milliseconds(arguments["wait_ms"]?.intValue ?? 1000)
        let deadline = ContinuousClock.now + wait
        while session.finished == nil, ContinuousClock.now < deadline, !Task.isCancelled {
            await session.waitForChange(after: session.version, timeout: deadline - ContinuousClock.now)
        }
        return ProcessOutput.result(session, read: session.read(offset: 0, length: 1000), replica: context.runtime.replica)
    }
}
