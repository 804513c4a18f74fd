import Foundation
import NIOHTTP1
import SwitchboardCore
import Testing

@testable import Gateway

/// Progress and log notifications streamed from the tool service through to the client as SSE,
/// and JSON whenever nothing has to flow.
@Suite struct StreamingTests {
    static let progressCall = #"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":"p1"}}}"#

    @Test func progressWithATokenIsStreamedAsSSE() async throws {
        try await GatewayStack.with { stack in
            let reply = try await stack.post(Self.progressCall)
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type") == "text/event-stream")
            #expect(reply.headers.first(name: "Cache-Control") == "no-cache, no-transform")
            #expect(reply.headers.first(name: "X-Accel-Buffering") == "no")
            // Framing: each event is `event: message`, one `data:` line, a blank line.
            for frame in reply.text.components(separatedBy: "\n\n").filter({ !$0.isEmpty && !$0.hasPrefix(":") }) {
                let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2)
                #expect(lines.first == "event: message")
                #expect(lines.last?.hasPrefix("data: {") == true)
            }
            let events = reply.events
            let progress = events.filter { $0["method"] == "notifications/progress" }
            #expect(progress.map { $0["params"]?["progress"]?.doubleValue } == [0, 50, 100])
            #expect(progress.allSatisfy { $0["params"]?["progressToken"] == "p1" && $0["params"]?["total"] == 100 })
            #expect(events.last?["id"] == 11)
            #expect(events.last?["result"]?["content"]?.arrayValue?.first?["text"] == "Tool with progress executed successfully")
        }
    }

    @Test func withoutATokenOrWithoutSSEInAcceptTheAnswerIsJSON() async throws {
        try await GatewayStack.with { stack in
            let plain = try await stack.post(#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"test_tool_with_progress","arguments":{}}}"#)
            #expect(plain.headers.first(name: "Content-Type") == "application/json")
            #expect(plain.json?["result"]?["isError"] == false)
            let jsonOnly = try await stack.post(
                Self.progressCall, headers: GatewayStack.handshakeHeaders().filter { $0.0 != "Accept" } + [("Accept", "application/json")]
            )
            #expect(jsonOnly.headers.first(name: "Content-Type") == "application/json")
            #expect(jsonOnly.json?["id"] == 11)
            // A token on a tool that reports nothing still gets JSON: SSE only when notifications flow.
            let silent = try await stack.post(#"{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"test_simple_text","_meta":{"progressToken":7}}}"#)
            #expect(silent.headers.first(name: "Content-Type") == "application/json")
        }
    }

    @Test func logNotificationsFollowTheRequestedLevel() async throws {
        try await GatewayStack.with { stack in
            let params = #""name":"test_tool_with_logging","arguments":{}"#
            let withLevel = try await stack.modern("tools/call", name: "test_tool_with_logging", params: params, meta: #""io.modelcontextprotocol/logLevel":"info""#)
            let logs = withLevel.events.filter { $0["method"] == "notifications/message" }
            #expect(logs.map { $0["params"]?["data"]?.stringValue } == ["Tool execution started", "Tool processing data", "Tool execution completed"])
            #expect(logs.allSatisfy { $0["params"]?["level"] == "info" })
            #expect(withLevel.events.last?["result"]?["resultType"] == "complete")
            let above = try await stack.modern("tools/call", name: "test_tool_with_logging", params: params, meta: #""io.modelcontextprotocol/logLevel":"warning""#)
            #expect(above.headers.first(name: "Content-Type") == "application/json")
            let none = try await stack.modern("tools/call", name: "test_tool_with_logging", params: params)
            #expect(none.headers.first(name: "Content-Type") == "application/json")
            #expect(none.json?["result"]?["content"] != nil)
            // Handshake era: logging/setLevel on the session opts in.
            let initialize = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
            let session = try #require(initialize.headers.first(name: "Mcp-Session-Id"))
            let headers = GatewayStack.handshakeHeaders(version: "2025-11-25", session: session)
            let call = #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{\#(params)}}"#
            #expect(try await stack.post(call, headers: headers).headers.first(name: "Content-Type") == "application/json")
            let setLevel = try await stack.post(#"{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}"#, headers: headers)
            #expect(setLevel.json?["result"] == [:])
            let logged = try await stack.post(call, headers: headers)
            #expect(logged.events.filter { $0["method"] == "notifications/message" }.count == 3)
            let invalid = try await stack.post(#"{"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"chatty"}}"#, headers: headers)
            #expect(invalid.json?["error"]?["code"] == -32602)
        }
    }

    @Test func severalStreamsRunAtOnce() async throws {
        try await GatewayStack.with { stack in
            try await withThrowingTaskGroup(of: [JSONValue].self) { group in
                for index in 0..<3 {
                    group.addTask {
                        let call = #"{"jsonrpc":"2.0","id":\#(100 + index),"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":\#(index)}}}"#
                        return try await stack.post(call).events
                    }
                }
                var finals: Set<Int64> = []
                for try await events in group {
                    let token = events.first?["params"]?["progressToken"]?.intValue
                    #expect(events.dropLast().allSatisfy { $0["params"]?["progressToken"]?.intValue == token })
                    if let id = events.last?["id"]?.intValue { finals.insert(id) }
                }
                #expect(finals == [100, 101, 102])
            }
        }
    }
}
