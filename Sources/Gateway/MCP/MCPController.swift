import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// The Streamable HTTP endpoint `/mcp`.
struct MCPController: Sendable {
    let server: MCPServer
    let authenticator: any ClientAuthenticator
    let maxBodySize: Int

    func addRoutes(to router: Router<ServiceRequestContext>) {
        router.post("mcp") { request, context in
            try await post(request, context: context)
        }
        router.get("mcp") { _, _ in
            Response(status: .methodNotAllowed, headers: [.allow: "POST"])
        }
        router.delete("mcp") { _, _ in
            Response(status: .methodNotAllowed, headers: [.allow: "POST"])
        }
    }

    func post(_ request: Request, context: ServiceRequestContext) async throws -> Response {
        guard let principal = authenticator.principal(forAuthorization: request.headers[.authorization]) else {
            return Response(
                status: .unauthorized,
                headers: [.wwwAuthenticate: "Bearer realm=\"switchboard\"", .contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: JSONRPCResponse.error(id: nil, JSONRPCError(.invalidRequest, "missing or invalid API key"))))
            )
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodySize {
            return tooLarge()
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodySize)
        } catch {
            return tooLarge()
        }
        let message: JSONRPCMessage
        switch JSONRPCMessage.parse(Array(buffer.readableBytesView)) {
        case .success(let parsed):
            message = parsed
        case .failure(let failure):
            return Response.json(JSONRPCResponse.error(id: failure.id, failure.error), status: .badRequest)
        }
        switch message.kind {
        case .notification, .response:
            return Response(status: .accepted)
        case .request:
            let reply = await server.handle(message, principal: principal)
            return Response.json(reply)
        }
    }

    private func tooLarge() -> Response {
        Response.json(
            JSONRPCResponse.error(id: nil, JSONRPCError(.invalidRequest, "request body exceeds \(Units.formatBytes(Int64(maxBodySize)))")),
            status: .contentTooLarge
        )
    }
}
