import Foundation
import NIOHTTP1
import SwitchboardCore
import Testing

@testable import Gateway

/// The 2026-07-28 validation ladder: `_meta` envelope, routing headers, version, `Mcp-Param-*`, capabilities.
@Suite struct HeaderRuleTests {
    static let call = GatewayStack.modernBody(method: "tools/call", params: #""name":"test_simple_text","arguments":{}"#)

    func expectError(_ reply: GatewayStack.Reply, _ code: Int64, status: Int = 400, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, sourceLocation: sourceLocation)
        #expect(reply.json?["error"]?["code"] == .int(code), "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.json?["id"] == 1, sourceLocation: sourceLocation)
        if let text { #expect(reply.json?["error"]?["message"]?.stringValue?.contains(text) == true, "\(reply.text)", sourceLocation: sourceLocation) }
    }

    @Test func theEnvelopeIsRequired() async throws {
        try await GatewayStack.with { stack in
            let headers = GatewayStack.modernHeaders(method: "tools/list")
            expectError(try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, headers: headers), -32602, containing: "params._meta must be an object")
            expectError(
                try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#, headers: headers),
                -32602, containing: "io.modelcontextprotocol/clientCapabilities"
            )
            expectError(
                try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{}}}}"#, headers: headers),
                -32602, containing: "io.modelcontextprotocol/protocolVersion"
            )
            // clientInfo is optional.
            let noInfo = try await stack.post(
                #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
                headers: headers
            )
            #expect(noInfo.status == 200)
            expectError(try await stack.modern("tools/list", meta: #""io.modelcontextprotocol/logLevel":"loud""#), -32602, containing: "logLevel")
            expectError(try await stack.modern("tools/list", meta: #""progressToken":{"a":1}"#), -32602, containing: "progressToken")
        }
    }

    @Test func routingHeadersMustMatchTheBody() async throws {
        try await GatewayStack.with { stack in
            var headers = GatewayStack.modernHeaders(method: "tools/list").filter { $0.0 != "MCP-Protocol-Version" }
            // A 2026-07-28 body without the version header is recognised and told what is missing.
            expectError(try await stack.post(GatewayStack.modernBody(method: "tools/list"), headers: headers), -32020, containing: "MCP-Protocol-Version")
            headers = GatewayStack.modernHeaders(method: "tools/list")
            let olderBody = GatewayStack.modernBody(method: "tools/list", version: "2025-11-25")
            expectError(try await stack.post(olderBody, headers: headers), -32020, containing: "MCP-Protocol-Version")
            expectError(try await stack.post(GatewayStack.modernBody(method: "tools/list"), headers: GatewayStack.modernHeaders(method: "tools/call")), -32020, containing: "Mcp-Method")
            expectError(
                try await stack.post(GatewayStack.modernBody(method: "tools/list"), headers: headers.filter { $0.0 != "Mcp-Method" }), -32020, containing: "Mcp-Method"
            )
            expectError(
                try await stack.post(GatewayStack.modernBody(method: "tools/list"), headers: headers + [("Mcp-Method", "tools/list")]), -32020,
                containing: "mcp-method header appears more than once"
            )
            expectError(try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call")), -32020, containing: "Mcp-Name")
            expectError(try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call", name: "other")), -32020, containing: "Mcp-Name")
            expectError(
                try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call", name: "=?base64?not base64?=")), -32020, containing: "Mcp-Name"
            )
            let plain = try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call", name: "test_simple_text"))
            #expect(plain.status == 200)
            let encoded = "=?base64?" + Data("test_simple_text".utf8).base64EncodedString() + "?="
            let sentinel = try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call", name: encoded))
            #expect(sentinel.status == 200)
            #expect(sentinel.json?["result"]?["content"]?.arrayValue?.first?["text"] == "This is a simple text response for testing.")
            // A session id is ignored in this era, and none is issued.
            let withSession = try await stack.post(GatewayStack.modernBody(method: "tools/list"), headers: headers + [("Mcp-Session-Id", "whatever")])
            #expect(withSession.status == 200)
            #expect(withSession.headers.first(name: "Mcp-Session-Id") == nil)
        }
    }

    @Test func mcpParamHeadersMustMirrorTheirArguments() async throws {
        try await GatewayStack.with { stack in
            let body = GatewayStack.modernBody(method: "tools/call", params: #""name":"test_mcp_param_header","arguments":{"region":"us-west1","text":"hi"}"#)
            let headers = GatewayStack.modernHeaders(method: "tools/call", name: "test_mcp_param_header")
            expectError(try await stack.post(body, headers: headers), -32020, containing: "Mcp-Param-Region header is missing")
            expectError(try await stack.post(body, headers: headers + [("Mcp-Param-Region", "eu")]), -32020, containing: "does not match")
            expectError(
                try await stack.post(body, headers: headers + [("Mcp-Param-Region", "us-west1"), ("mcp-param-region", "us-west1")]), -32020,
                containing: "more than once"
            )
            expectError(try await stack.post(body, headers: headers + [("Mcp-Param-Region", "=?base64?%%%?=")]), -32020, containing: "malformed base64")
            let absent = GatewayStack.modernBody(method: "tools/call", params: #""name":"test_mcp_param_header","arguments":{"text":"hi"}"#)
            expectError(try await stack.post(absent, headers: headers + [("Mcp-Param-Region", "eu")]), -32020, containing: "is absent")
            let ok = try await stack.post(body, headers: headers + [("MCP-PARAM-REGION", "us-west1")])
            #expect(ok.status == 200)
            #expect(ok.json?["result"]?["content"]?.arrayValue?.first?["text"] == "us-west1:hi")
            let encoded = try await stack.post(body, headers: headers + [("Mcp-Param-Region", "=?base64?dXMtd2VzdDE=?=")])
            #expect(encoded.status == 200)
            // Headers for arguments no schema mirrors are not this server's concern.
            let unrelated = try await stack.post(Self.call, headers: GatewayStack.modernHeaders(method: "tools/call", name: "test_simple_text") + [("Mcp-Param-Zone", "x")])
            #expect(unrelated.status == 200)
        }
    }

    @Test func parameterChecksFollowTheSchemaTypes() {
        let parameters = [HeaderParameter(token: "Count", path: ["count"], type: "integer"), HeaderParameter(token: "Flag", path: ["opts", "flag"], type: "boolean")]
        let arguments: JSONValue = ["count": 42, "opts": ["flag": true]]
        #expect(HeaderParameter.check(parameters, arguments: arguments, headers: [("count", "42.0"), ("flag", "true")]) == nil)
        #expect(HeaderParameter.check(parameters, arguments: arguments, headers: [("count", "42.5"), ("flag", "true")])?.code == .headerMismatch)
        #expect(HeaderParameter.check(parameters, arguments: arguments, headers: [("count", "42"), ("flag", "True")])?.code == .headerMismatch)
        #expect(HeaderParameter.check(parameters, arguments: ["count": 1], headers: [("count", "1")]) == nil)
        let invalid: JSONValue = ["type": "object", "properties": ["a": ["type": "object", "x-mcp-header": "A"]]]
        #expect(throws: HeaderParameter.Problem.self) { try HeaderParameter.all(in: invalid).get() }
        let duplicate: JSONValue = ["type": "object", "properties": ["a": ["type": "string", "x-mcp-header": "A"], "b": ["type": "string", "x-mcp-header": "a"]]]
        #expect(throws: HeaderParameter.Problem.self) { try HeaderParameter.all(in: duplicate).get() }
        #expect(!HeaderParameter.isToken("has space"))
    }

    @Test func aToolNeedingAnUndeclaredCapabilityIs32021() async throws {
        try await GatewayStack.with { stack in
            let params = #""name":"test_missing_capability","arguments":{}"#
            let headers = GatewayStack.modernHeaders(method: "tools/call", name: "test_missing_capability")
            let refused = try await stack.post(GatewayStack.modernBody(method: "tools/call", params: params), headers: headers)
            expectError(refused, -32021, containing: "sampling")
            #expect(refused.json?["error"]?["data"]?["requiredCapabilities"] == ["sampling": [:]])
            let declared = GatewayStack.modernBody(method: "tools/call", params: params)
                .replacingOccurrences(of: #""io.modelcontextprotocol/clientCapabilities":{}"#, with: #""io.modelcontextprotocol/clientCapabilities":{"sampling":{}}"#)
            let served = try await stack.post(declared, headers: headers)
            #expect(served.status == 200)
            #expect(served.json?["result"]?["content"]?.arrayValue?.first?["text"] == "Success")
        }
    }
}
