import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// A cancelled or abandoned tools/call stops the tool on the tool service.
@Suite struct CancellationTests {
    /// A slow call with a progress token: its first progress notification proves it runs on the tool service.
    static let slowCall = #"{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"test_slow_operation","arguments":{"seconds":60},"_meta":{"progressToken":"slow"}}}"#
    static let cancel = #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":21,"reason":"user"}}"#

    func session(_ stack: GatewayStack) async throws -> String {
        let initialize = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
        return try #require(initialize.headers.first(name: "Mcp-Session-Id"))
    }

    @Test func notificationsCancelledStopsTheToolAndAnswers32800() async throws {
        try await GatewayStack.with { stack in
            let headers = GatewayStack.handshakeHeaders(version: "2025-11-25", session: try await session(stack))
            let last = try await stack.stream(.POST, "/mcp", Self.slowCall, headers: headers) { status, reader in
                #expect(status == 200)
                #expect(try await reader.nextMessage()?["method"] == "notifications/progress")
                let cancel = try await stack.post(Self.cancel, headers: headers)
                #expect(cancel.status == 202)
                var message = try await reader.nextMessage()
                while message?["method"] != nil { message = try await reader.nextMessage() }
                return message
            }
            #expect(last?["id"] == 21)
            #expect(last?["error"]?["code"] == -32800)
            let cancelled = try await stack.waitForToolOutcome("test_slow_operation", "cancelled")
            #expect(cancelled)
        }
    }

    @Test func aCancellationReachesTheCallFromAnotherGatewayReplica() async throws {
        try await GatewayStack.withTools { toolsPort in
            try await GatewayStack.withGateway(toolsPort: toolsPort) { first in
                try await GatewayStack.withGateway(toolsPort: toolsPort) { second in
                    let headers = GatewayStack.handshakeHeaders(version: "2025-11-25", session: try await session(first))
                    let last = try await first.stream(.POST, "/mcp", Self.slowCall, headers: headers) { _, reader in
                        #expect(try await reader.nextMessage()?["method"] == "notifications/progress")
                        // The same signed session is valid on the other replica, which forwards the cancellation.
                        let cancel = try await second.post(Self.cancel, headers: headers)
                        #expect(cancel.status == 202)
                        var message = try await reader.nextMessage()
                        while message?["method"] != nil { message = try await reader.nextMessage() }
                        return message
                    }
                    #expect(last?["result"]?["isError"] == true)
                    #expect(last?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("cancelled") == true)
                    let cancelled = try await first.waitForToolOutcome("test_slow_operation", "cancelled")
                    #expect(cancelled)
                }
            }
        }
    }

    @Test func aClientThatHangsUpCancelsTheCall() async throws {
        try await GatewayStack.with { stack in
            var request = HTTPClientRequest(url: stack.base + "/mcp")
            request.method = .POST
            for (name, value) in GatewayStack.modernHeaders(method: "tools/call", name: "test_slow_operation") { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: GatewayStack.modernBody(method: "tools/call", params: #""name":"test_slow_operation","arguments":{"seconds":60}"#)))
            // The client gives up after 1.5 s and closes the connection.
            await #expect(throws: (any Error).self) { _ = try await stack.client.execute(request, timeout: .milliseconds(1500)) }
            let cancelled = try await stack.waitForToolOutcome("test_slow_operation", "cancelled")
            #expect(cancelled)
        }
    }

    @Test func hangingUpOnAStreamedCallCancelsIt() async throws {
        try await GatewayStack.with { stack in
            let body = GatewayStack.modernBody(method: "tools/call", params: #""name":"test_slow_operation","arguments":{"seconds":60}"#, meta: #""progressToken":"t""#)
            let headers = GatewayStack.modernHeaders(method: "tools/call", name: "test_slow_operation")
            let progress = try await stack.stream(.POST, "/mcp", body, headers: headers) { status, reader in
                #expect(status == 200)
                var seen: [JSONValue] = []
                while seen.count < 2, let message = try await reader.nextMessage() { seen.append(message) }
                return seen
            }
            #expect(progress.count == 2)
            #expect(progress.allSatisfy { $0["method"] == "notifications/progress" && $0["params"]?["progressToken"] == "t" })
            // Leaving the closure dropped the response body: the connection is closed.
            #expect(try await stack.waitForToolOutcome("test_slow_operation", "cancelled"))
        }
    }
}
