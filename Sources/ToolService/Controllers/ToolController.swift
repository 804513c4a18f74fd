import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// `GET /v1/tools`, `POST /v1/tools/call` (JSON, or NDJSON progress/log lines then the result with
/// `Accept: application/x-ndjson`) and `POST /v1/calls/{id}/cancel` (see ``ToolServiceAPI``).
struct ToolController: Sendable {
    let catalog: ToolCatalog
    let invoker: ToolInvoker
    let calls = CallRegistry()

    static let callIDHeader = HTTPField.Name(ToolServiceAPI.callIDHeader)!

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("tools") { _, _ in
            Response.json(catalog.listing)
        }
        group.post("tools/call") { request, context in
            try await call(request, context: context)
        }
        group.post("calls/:id/cancel") { _, context in
            let id = try context.parameters.require("id")
            return Response(status: calls.cancel(id) ? .accepted : .notFound)
        }
    }

    func call(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
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
        let call = ToolInvoker.Call(
            name: name, arguments: payload["arguments"] ?? .object([]), argumentBytes: body.readableBytes,
            principal: context.principal ?? "anonymous", requestID: context.requestID,
            callID: request.headers[Self.callIDHeader] ?? RequestID.generate()
        )
        if request.headers[.accept]?.contains(ToolServiceAPI.streamMediaType) == true {
            return stream(tool, call, channel: context.channel)
        }
        return Response.json(await run(tool, call, channel: context.channel).json)
    }

    /// Runs the call as its own task: cancellable by id, and cancelled when the client goes away or
    /// the request's task is cancelled.
    private func run(_ tool: any Tool, _ call: ToolInvoker.Call, channel: (any Channel)?) async -> ToolResult {
        let task = Task { await invoker.invoke(tool, call) }
        let token = calls.register(call.callID) { task.cancel() }
        defer { calls.remove(call.callID, token: token) }
        return await withTaskCancellationHandler {
            await ConnectionWatch.value(of: task, channel: channel)
        } onCancel: {
            task.cancel()
        }
    }

    /// NDJSON: progress and log lines as the tool reports them, then one `{"result":…}` line.
    private func stream(_ tool: any Tool, _ call: ToolInvoker.Call, channel: (any Channel)?) -> Response {
        Response(
            status: .ok, headers: [.contentType: ToolServiceAPI.streamMediaType],
            body: ResponseBody { writer in
                let (lines, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1024))
                var call = call
                let name = call.name
                call.progress = { progress, total, message in continuation.yield(ToolStreamLine.progress(progress, total: total, message: message)) }
                call.log = { level, data in continuation.yield(ToolStreamLine.log(ToolLogLevel(rawValue: level) ?? .info, logger: name, data: data)) }
                let prepared = call
                let running = Task {
                    let result = await run(tool, prepared, channel: channel)
                    continuation.yield(JSONValue.object([("result", result.json)]).jsonBytes + [10])
                    continuation.finish()
                }
                do {
                    for await line in lines { try await writer.write(ByteBuffer(bytes: line)) }
                    try await writer.finish(nil)
                } catch {
                    running.cancel()
                    throw error
                }
            }
        )
    }
}
