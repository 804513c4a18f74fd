import Foundation
import NIOHTTP1
import SwitchboardCore
import Testing

@testable import Gateway

/// The deprecated HTTP+SSE transport (2024-11-05): `GET /sse` + `POST /messages`.
@Suite struct LegacySSETests {
    @Test func messagesPostedToTheEndpointAreAnsweredOnTheStream() async throws {
        try await GatewayStack.with { stack in
            let headers = GatewayStack.handshakeHeaders().filter { $0.0 != "Accept" } + [("Accept", "text/event-stream")]
            try await stack.stream(.GET, "/sse", headers: headers) { status, reader in
                #expect(status == 200)
                let endpoint = try #require(try await reader.nextFrame())
                #expect(endpoint.hasPrefix("event: endpoint\ndata: /messages?session_id="))
                let path = String(endpoint.dropFirst("event: endpoint\ndata: ".count))
                let posted = try await stack.send(
                    .POST, path, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{}}}"#,
                    headers: GatewayStack.handshakeHeaders()
                )
                #expect(posted.status == 202)
                let initialized = try await reader.nextMessage()
                #expect(initialized?["id"] == 1)
                #expect(initialized?["result"]?["protocolVersion"] == "2024-11-05")
                _ = try await stack.send(.POST, path, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, headers: GatewayStack.handshakeHeaders())
                _ = try await stack.send(
                    .POST, path, #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_simple_text","_meta":{"progressToken":1}}}"#,
                    headers: GatewayStack.handshakeHeaders()
                )
                let called = try await reader.nextMessage()
                #expect(called?["id"] == 2)
                #expect(called?["result"]?["content"]?.arrayValue?.first?["text"] == "This is a simple text response for testing.")
                // A stateless-era probe is not served on this transport.
                _ = try await stack.send(.POST, path, GatewayStack.modernBody(id: "3", method: "server/discover"), headers: GatewayStack.handshakeHeaders())
                #expect(try await reader.nextMessage()?["error"]?["code"] == -32601)
                // The session belongs to its principal.
                let stolen = try await stack.send(.POST, path, #"{"jsonrpc":"2.0","id":4,"method":"ping"}"#, headers: GatewayStack.handshakeHeaders(key: GatewayStack.otherKey))
                #expect(stolen.status == 404)
                let unreadable = try await stack.send(.POST, path, "{nope", headers: GatewayStack.handshakeHeaders())
                #expect(unreadable.status == 400)
            }
            let unknown = try await stack.send(.POST, "/messages?session_id=nope", #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, headers: GatewayStack.handshakeHeaders())
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"]?["message"]?.stringValue?.contains("GET /sse") == true)
        }
    }
}
