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
    let calls = CancellationRegistry()

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
        let call = ToolInvoker.Call(
            name: name, arguments: payload["arguments"] ?? .object([]), argumentBytes: body.readableBytes,
            principal: context.principal ?? "anonymous", requestID: context.requestID,
            callID: request.headers[Self.callIDHeader] ?? RequestID.generate()
        )
        if request.headers[.accept]?.contains(ToolServiceAPI.streamMediaType) == true {
            return stream(tool, call, request: request)
        }
        let task = Task { await invoker.invoke(tool, call) }
        let token = calls.add(call.callID) { task.cancel() }
        let watch = DisconnectWatch(request: request) { task.cancel() }
        let result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        let closing = await watch.stop()
        calls.remove(call.callID, token: token)
        return Response.json(result.json, headers: DisconnectWatch.connectionHeaders(closing: closing))
    }

    /// NDJSON: progress and log lines as the tool reports them, then one `{"result":…}` line. The call
    /// is cancellable by id and cancelled when the client goes away.
    private func stream(_ tool: any Tool, _ call: ToolInvoker.Call, request: Request) -> Response {
        let (lines, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        var call = call
        let name = call.name
        call.progress = { progress, total, message in continuation.yield(ToolStreamLine.progress(progress, total: total, message: message)) }
        call.log = { level, data in continuation.yield(ToolStreamLine.log(ToolLogLevel(rawValue: level) ?? .info, logger: name, data: data)) }
        let prepared = call
        let task = Task {
            let result = await invoker.invoke(tool, prepared)
            continuation.yield(ToolStreamLine.result(result.json.jsonBytes))
            continuation.finish()
        }
        let token = calls.add(call.callID) { task.cancel() }
        let watch = DisconnectWatch(request: request) { task.cancel() }
        // A stream that outlives the watch's grace period ends its connection: never offer it for reuse.
        return Response(
            status: .ok, headers: [.contentType: ToolServiceAPI.streamMediaType, .connection: "close"],
            body: ResponseBody { writer in
                defer { calls.remove(prepared.callID, token: token) }
                // A failed write means the caller went away; whatever ended the stream, the call is over.
                do {
                    for await line in lines { try await writer.write(ByteBuffer(bytes: line)) }
                } catch {}
                task.cancel()
                await watch.stop()
                try await writer.finish(nil)
            }
        )
    }
}
