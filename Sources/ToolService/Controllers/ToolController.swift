import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// `GET /v1/tools` and `POST /v1/tools/call` (see ``ToolServiceAPI``).
struct ToolController: Sendable {
    let catalog: ToolCatalog
    let metrics: ToolMetrics

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("tools") { _, _ in
            Response.json(catalog.listing)
        }
        group.post("tools/call") { request, context in
            try await call(request, context: context)
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
        let arguments = payload["arguments"] ?? .object([])
        let toolContext = ToolContext(principal: context.principal ?? "anonymous", requestID: context.requestID, progress: { _, _, _ in })
        let start = ContinuousClock.now
        let result: ToolResult
        do {
            result = try await tool.call(arguments, context: toolContext)
        } catch {
            context.logger.error("tool failed", metadata: ["tool": .string(name), "error": .string("\(error)")])
            result = .error("\(name) failed: \(error)")
        }
        metrics.record(tool: name, outcome: result.isError ? "error" : "ok", duration: ContinuousClock.now - start)
        return Response.json(result.json)
    }
}
