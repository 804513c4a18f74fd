import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// `GET /v1/tools`, `POST /v1/tools/call` and `POST /v1/calls/{id}/cancel` (see ``ToolServiceAPI``).
struct ToolController: Sendable {
    let catalog: ToolCatalog
    let metrics: ToolMetrics
    let running = CancellationRegistry()

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("tools") { _, _ in
            Response.json(catalog.listing)
        }
        group.post("tools/call") { request, context in
            try await call(request, context: context)
        }
        group.post("calls/:id/cancel") { _, context in
            let id = try context.parameters.require("id")
            return Response(status: running.cancel(id) ? .accepted : .notFound)
        }
    }

    func call(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 20)
        let payload: JSONValue
        do {
            payload = try JSONParser.parse(body)
        } catch {
            throw ServiceError(.badRequest, "call body: \(error)")
        }
        guard let name = payload["name"]?.stringValue else {
            throw ServiceError(.badRequest, "call body: 'name' must be a string")
        }
        guard let tool = catalog[name] else {
            throw ServiceError(.notFound, "unknown tool '\(name)'")
        }
        let arguments = payload["arguments"] ?? .object([])
        let principal = context.principal ?? "anonymous"
        let callID = request.headers[.switchboardCallID]
        if request.headers[.accept]?.contains(ToolServiceAPI.streamMediaType) == true {
            return stream(tool, name: name, arguments: arguments, principal: principal, callID: callID, request: request, context: context)
        }
        let toolContext = ToolContext(principal: principal, requestID: context.requestID, progress: { _, _, _ in })
        let task = Task { await run(tool, name: name, arguments: arguments, context: toolContext, logger: context.logger) }
        let token = callID.map { id in running.add(id) { task.cancel() } }
        let watch = DisconnectWatch(request: request) { task.cancel() }
        let result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        let closing = await watch.stop()
        if let callID, let token { running.remove(callID, token: token) }
        return Response.json(result.json, headers: DisconnectWatch.connectionHeaders(closing: closing))
    }

    /// Answers with NDJSON lines: progress and log lines as the tool reports them, then the result.
    private func stream(
        _ tool: any Tool, name: String, arguments: JSONValue, principal: String, callID: String?, request: Request, context: ServiceRequestContext
    ) -> Response {
        // Progress and log lines may be dropped when the caller reads slower than the tool reports;
        // the result line is the newest and is never dropped.
        let (lines, output) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(256))
        var toolContext = ToolContext(principal: principal, requestID: context.requestID) { progress, total, message in
            output.yield(ToolStreamLine.progress(progress, total: total, message: message))
        }
        toolContext.log = { level, data in
            output.yield(ToolStreamLine.log(level, logger: name, data: data))
        }
        let task = Task {
            let result = await run(tool, name: name, arguments: arguments, context: toolContext, logger: context.logger)
            output.yield(ToolStreamLine.result(result.json.jsonBytes))
            output.finish()
        }
        let token = callID.map { id in running.add(id) { task.cancel() } }
        let watch = DisconnectWatch(request: request) { task.cancel() }
        // A stream that outlives the watch's grace period ends its connection: never offer it for reuse.
        return Response(
            status: .ok, headers: [.contentType: ToolServiceAPI.streamMediaType, .connection: "close"],
            body: ResponseBody { writer in
                do {
                    for await line in lines {
                        try await writer.write(ByteBuffer(bytes: line))
                    }
                } catch {
                    context.logger.debug("call stream closed by the caller", metadata: ["tool": .string(name)])
                }
                // Whatever ended the stream (the result, a write failure, shutdown), the call is over.
                task.cancel()
                await watch.stop()
                if let callID, let token { running.remove(callID, token: token) }
                try await writer.finish(nil)
            }
        )
    }

    /// Runs a tool, turning a failure or cancellation into an error result, and records it.
    private func run(_ tool: any Tool, name: String, arguments: JSONValue, context: ToolContext, logger: Logger) async -> ToolResult {
        let start = ContinuousClock.now
        let result: ToolResult
        let outcome: String
        do {
            result = try await tool.call(arguments, context: context)
            outcome = result.isError ? "error" : "ok"
        } catch {
            if Task.isCancelled {
                result = .error("\(name) was cancelled")
                outcome = "cancelled"
            } else {
                logger.error("tool failed", metadata: ["tool": .string(name), "error": .string("\(error)")])
                result = .error("\(name) failed: \(error)")
                outcome = "error"
            }
        }
        metrics.record(tool: name, outcome: outcome, duration: ContinuousClock.now - start)
        return result
    }
}

extension HTTPField.Name {
    static let switchboardCallID = HTTPField.Name(ToolServiceAPI.callIDHeader)!
}
