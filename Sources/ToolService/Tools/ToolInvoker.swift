import Logging
import SwitchboardCore

/// Runs one tool call: validates the arguments against the tool's schema, runs the tool under the
/// current policy, turns denials and failures into `isError` results, adds isolation metadata, writes
/// the audit record (before the result is returned) and records metrics.
struct ToolInvoker: Sendable {
    let catalog: ToolCatalog
    let runtime: ToolRuntime
    let logger: Logger

    /// One call as it arrived.
    struct Call: Sendable {
        var name: String
        var arguments: JSONValue
        /// Size of the arguments as received, for the audit log.
        var argumentBytes: Int
        var principal: String
        var requestID: String
        var callID: String
        var progress: @Sendable (Double, Double?, String?) async -> Void = { _, _, _ in }
        var log: @Sendable (String, JSONValue) async -> Void = { _, _ in }
    }

    func invoke(_ tool: any Tool, _ call: Call) async -> ToolResult {
        let start = ContinuousClock.now
        let policy = runtime.policies.current
        var result: ToolResult
        var decision = "allowed"
        var rule: String?
        var outcome: String
        var message: String?
        let violations = catalog.schema(call.name)?.validate(call.arguments, at: "arguments") ?? []
        if !violations.isEmpty {
            let text = violations.prefix(5).map(\.description).joined(separator: "; ")
            result = .error("invalid arguments: \(text)")
            decision = "invalid"
            outcome = "invalid"
            rule = "schema"
            message = text
        } else {
            let context = ToolContext(
                principal: call.principal, requestID: call.requestID, callID: call.callID, runtime: runtime, policy: policy,
                progress: call.progress, log: call.log
            )
            do {
                result = try await tool.call(call.arguments, context: context)
                outcome = Task.isCancelled ? "cancelled" : result.isError ? "error" : "ok"
            } catch let denial as PolicyDenial {
                result = .error(denial.description)
                result.meta.append(("switchboard/denial", ["rule": .string(denial.rule), "message": .string(denial.message)]))
                decision = "denied"
                rule = denial.rule
                outcome = "denied"
                message = denial.message
            } catch let failure as ToolFailure {
                result = .error(failure.message)
                outcome = Task.isCancelled ? "cancelled" : "error"
                message = failure.message
            } catch is CancellationError {
                result = .error("\(call.name) was cancelled")
                outcome = "cancelled"
            } catch {
                logger.error("tool failed", metadata: ["tool": .string(call.name), "error": .string("\(error)")])
                result = .error("\(call.name) failed: \(error)")
                outcome = "error"
                message = "\(error)"
            }
        }
        if let execution = result.execution { result.meta.append(("switchboard/execution", execution)) }
        result.meta.append(("switchboard/isolation", runtime.isolation(policy)))
        let duration = ContinuousClock.now - start
        let resultBytes = result.content.reduce(0) { $0 + ($1["text"]?.stringValue?.utf8.count ?? $1["data"]?.stringValue?.utf8.count ?? 0) }
        let record = AuditRecord(
            callID: call.callID, requestID: call.requestID, principal: call.principal, tool: call.name,
            arguments: Redactor.redact(call.arguments), decision: decision, rule: rule, outcome: outcome, message: message,
            exitStatus: result.exitStatus, duration: duration, bytesIn: call.argumentBytes, bytesOut: resultBytes, execution: result.execution
        )
        if await !runtime.audit.append(record) {
            runtime.metrics?.auditFailure()
            logger.error("audit record not written", metadata: ["tool": .string(call.name), "call_id": .string(call.callID)])
        }
        if let metrics = runtime.metrics {
            metrics.record(tool: call.name, outcome: outcome, duration: duration)
            if let rule, decision == "denied" { metrics.denied(tool: call.name, rule: rule) }
            if let limit = result.limitHit { metrics.limitHit(tool: call.name, limit: limit) }
        }
        return result
    }
}
