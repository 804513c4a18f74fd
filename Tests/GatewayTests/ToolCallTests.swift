import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// tools/list and tools/call through the gateway, in both eras.
@Suite struct ToolCallTests {
    func call(_ stack: GatewayStack, _ name: String, _ arguments: String = "{}", id: Int = 1) async throws -> GatewayStack.Reply {
        try await stack.post(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(name)","arguments":\#(arguments)}}"#)
    }

    @Test func initializeNegotiatesAndDeclaresOnlyWhatIsImplemented() async throws {
        try await GatewayStack.with { stack in
            let reply = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
            #expect(reply.json?["result"]?["protocolVersion"] == "2025-06-18")
            #expect(reply.json?["result"]?["serverInfo"]?["name"] == "switchboard")
            #expect(reply.json?["result"]?["capabilities"] == ["tools": ["listChanged": true], "logging": [:]])
            let counter = try await stack.post(#"{"jsonrpc":"2.0","id":"x","method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#)
            #expect(counter.json?["id"] == "x")
            #expect(counter.json?["result"]?["protocolVersion"] == "2025-11-25")
        }
    }

    @Test func discoverLeadsModernClientsToTheStatelessEra() async throws {
        try await GatewayStack.with { stack in
            let reply = try await stack.modern("server/discover")
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type") == "application/json")
            let result = try #require(reply.json?["result"])
            #expect(result["supportedVersions"]?.arrayValue?.first == "2026-07-28")
            #expect(result["resultType"] == "complete")
            #expect(result["ttlMs"]?.intValue != nil)
            #expect(result["cacheScope"] == "public")
            #expect(result["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "switchboard")
            // Without the version header the probe is a handshake-era request: a prompt error leads to initialize.
            let legacy = try await stack.post(GatewayStack.modernBody(method: "server/discover"), headers: GatewayStack.modernHeaders(method: "server/discover").filter { $0.0 != "MCP-Protocol-Version" })
            #expect(legacy.status == 400)
            #expect(legacy.json?["error"]?["code"] == -32020)
        }
    }

    @Test func toolsListIsSortedPaginatedAndValid() async throws {
        try await GatewayStack.with(["SWITCHBOARD_PAGE_SIZE": "3"]) { stack in
            var names: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let params = cursor.map { #","params":{"cursor":"\#($0)"}"# } ?? ""
                let reply = try await stack.post(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"\#(params)}"#)
                let tools = try #require(reply.json?["result"]?["tools"]?.arrayValue)
                #expect(tools.count <= 3)
                for tool in tools {
                    let name = try #require(tool["name"]?.stringValue)
                    #expect(ToolEntry.isValidName(name))
                    #expect(tool["description"]?.stringValue?.isEmpty == false)
                    #expect(tool["inputSchema"]?["type"] == "object")
                    #expect(tool["annotations"]?["readOnlyHint"]?.boolValue != nil)
                    names.append(name)
                }
                cursor = reply.json?["result"]?["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 20
            #expect(names == names.sorted())
            #expect(Set(names).count == names.count)
            #expect(names.contains("get_system_info") && names.contains("test_simple_text"))
            #expect(pages == (names.count + 2) / 3)
            let bad = try await stack.post(#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"%%%"}}"#)
            #expect(bad.json?["error"]?["code"] == -32602)
            let modern = try await stack.modern("tools/list")
            #expect(modern.json?["result"]?["resultType"] == "complete")
            #expect(modern.json?["result"]?["cacheScope"] == "private")
            #expect(modern.json?["result"]?["ttlMs"]?.intValue != nil)
            #expect(modern.json?["result"]?["_meta"]?["io.modelcontextprotocol/serverInfo"] != nil)
            #expect(modern.json?["result"]?["nextCursor"] != nil)
        }
    }

    @Test func resultsPassThroughExactly() async throws {
        try await GatewayStack.withTools { toolsPort in
            try await GatewayStack.withGateway(toolsPort: toolsPort) { stack in
                for tool in ["test_image_content", "test_audio_content", "test_embedded_resource", "test_multiple_content_types", "get_system_info"] {
                    var direct = HTTPClientRequest(url: "http://127.0.0.1:\(toolsPort)/v1/tools/call")
                    direct.method = .POST
                    direct.headers.add(name: "Authorization", value: "Bearer \(TestEnvironment.secret)")
                    direct.body = .bytes(ByteBuffer(string: #"{"name":"\#(tool)","arguments":{}}"#))
                    let expected = try JSONParser.parse(try await stack.client.execute(direct, timeout: .seconds(10)).body.collect(upTo: 1 << 20))
                    let through = try await call(stack, tool)
                    let result = try #require(through.json?["result"])
                    if tool == "get_system_info" {
                        #expect(result["structuredContent"]?["cpus"] == expected["structuredContent"]?["cpus"])
                    } else {
                        #expect(result == expected, "\(tool)")
                    }
                }
            }
        }
    }

    @Test func failuresAreResultsAndUnknownToolsAreErrors() async throws {
        try await GatewayStack.with { stack in
            let failing = try await call(stack, "test_error_handling")
            #expect(failing.json?["result"]?["isError"] == true)
            #expect(failing.json?["result"]?["content"]?.arrayValue?.first?["text"] == "This tool intentionally returns an error for testing")
            let unknown = try await call(stack, "no_such_tool", id: 4)
            #expect(unknown.status == 200)
            #expect(unknown.json?["id"] == 4)
            #expect(unknown.json?["error"]?["code"] == -32602)
            let modernUnknown = try await stack.modern("tools/call", name: "no_such_tool", params: #""name":"no_such_tool""#)
            #expect(modernUnknown.status == 400)
            #expect(modernUnknown.json?["error"]?["code"] == -32602)
            let badArguments = try await call(stack, "test_simple_text", "[1]")
            #expect(badArguments.json?["error"]?["code"] == -32602)
            let noName = try await stack.post(#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}"#)
            #expect(noName.json?["error"]?["code"] == -32602)
        }
    }

    @Test func modernResultsCarryResultTypeAndServerInfo() async throws {
        try await GatewayStack.with { stack in
            let reply = try await stack.modern("tools/call", name: "get_system_info", params: #""name":"get_system_info","arguments":{}"#)
            let result = try #require(reply.json?["result"])
            #expect(result["resultType"] == "complete")
            #expect(result["isError"] == false)
            #expect(result["structuredContent"]?["architecture"]?.stringValue?.isEmpty == false)
            #expect(result["_meta"]?["io.modelcontextprotocol/serverInfo"]?["version"] == .string(ServiceIdentity.version))
            let legacy = try await call(stack, "get_system_info")
            #expect(legacy.json?["result"]?["resultType"] == nil)
            // Handshake-era results carry only what the tool service put there, never the 2026-07-28 server info.
            #expect(legacy.json?["result"]?["_meta"]?["io.modelcontextprotocol/serverInfo"] == nil)
        }
    }

    @Test func anUnreachableToolServiceIsAToolErrorResult() async throws {
        let deadPort = TestEnvironment.freePorts(1)
        try await GatewayStack.withGateway(toolsPort: deadPort) { stack in
            let reply = try await call(stack, "get_system_info", id: 7)
            #expect(reply.status == 200)
            #expect(reply.json?["result"]?["isError"] == true)
            #expect(reply.json?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("tool service unavailable") == true)
            #expect(try await stack.send(.GET, "/ready", headers: []).status == 503)
        }
    }

    @Test func stampingKeepsTheToolsOwnMembersAndMeta() throws {
        let stamped = try JSONParser.parse(MCPServer.stampModern(Array(#"{"content":[{"type":"text","text":"a\nb"}],"isError":false,"_meta":{"x":1}}"#.utf8)))
        #expect(stamped["resultType"] == "complete")
        #expect(stamped["content"] == [["type": "text", "text": "a\nb"]])
        #expect(stamped["isError"] == false)
        #expect(stamped["_meta"]?["x"] == 1)
        #expect(stamped["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "switchboard")
        let empty = try JSONParser.parse(MCPServer.stampModern(Array(#"{"resultType":"input_required","_meta":{}}"#.utf8)))
        #expect(empty["resultType"] == "input_required")
        #expect(empty["_meta"]?.objectValue?.count == 1)
    }

    @Test func argumentShapesAreReadWithoutDecoding() {
        #expect(MCPServer.argumentShape(ArraySlice(Array(#"{"b":1.5,"a":"x","c":[1],"d":{},"e":true,"f":null,"g":-3}"#.utf8))) == [
            "a:string", "b:number", "c:array", "d:object", "e:boolean", "f:null", "g:integer",
        ])
    }
}
