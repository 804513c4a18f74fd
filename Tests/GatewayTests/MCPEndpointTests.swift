import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway
@testable import ToolService

/// The gateway's `/mcp` endpoint against a real tool service on a live port.
struct MCPEndpointTests {
    static let apiKey = "sbk_test_key"

    /// Runs `body` with a gateway router test client whose tool service is live.
    func withGateway(toolsURL: String? = nil, maxBody: String = "4MiB", _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let toolsPort = TestEnvironment.freePorts(1)
        let directory = TestEnvironment.temporaryDirectory("switchboard-gateway-tools")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("work"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let toolsEnvironment = try TestEnvironment.make(service: "tools", keys: ConfigKey.toolService, [
            "SWITCHBOARD_PORT": String(toolsPort), "SWITCHBOARD_WORKSPACE": directory.appendingPathComponent("work").path,
            "SWITCHBOARD_AUDIT_LOG": directory.appendingPathComponent("audit.jsonl").path,
        ])
        let toolsApp = toolsEnvironment.makeApplication(router: try ToolService.buildRouter(toolsEnvironment, catalog: .standard()))
        try await LiveService.with(toolsApp, port: toolsPort) {
            let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, [
                "SWITCHBOARD_TOOLS_URL": toolsURL ?? "http://127.0.0.1:\(toolsPort)",
                "SWITCHBOARD_LEARN_URL": "",
                "SWITCHBOARD_API_KEYS": APIKeyAuthenticator.entry(principal: "tester", key: Self.apiKey),
                "SWITCHBOARD_MAX_BODY": maxBody,
            ])
            let parts = try GatewayParts(environment)
            let app = Application(router: Gateway.buildRouter(environment, parts: parts), services: [environment.http, parts.telemetry])
            try await app.test(.router, body)
        }
    }

    static let headers: HTTPFields = [
        .authorization: "Bearer \(apiKey)", .contentType: "application/json", .accept: "application/json, text/event-stream",
    ]

    func post(_ client: any TestClientProtocol, _ json: String, headers: HTTPFields = MCPEndpointTests.headers) async throws -> (HTTPResponse.Status, JSONValue?) {
        try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: json)) { response in
            (response.status, response.body.readableBytes == 0 ? nil : try JSONParser.parse(response.body))
        }
    }

    @Test func initializeNegotiatesTheVersion() async throws {
        try await withGateway { client in
            let (status, body) = try await post(client, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
            #expect(status == .ok)
            #expect(body?["id"] == 1)
            #expect(body?["result"]?["protocolVersion"] == "2025-06-18")
            #expect(body?["result"]?["serverInfo"]?["name"] == "switchboard")
            #expect(body?["result"]?["capabilities"]?["tools"] != nil)
            // An unknown version gets a counter-offer, never an error.
            let (_, counter) = try await post(client, #"{"jsonrpc":"2.0","id":"x","method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#)
            #expect(counter?["id"] == "x")
            #expect(counter?["result"]?["protocolVersion"] == "2025-11-25")
        }
    }

    @Test func listsAndCallsToolsThroughTheToolService() async throws {
        try await withGateway { client in
            let (_, list) = try await post(client, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            let tools = try #require(list?["result"]?["tools"]?.arrayValue)
            #expect(tools.contains { $0["name"] == "get_system_info" })
            let (status, call) = try await post(client, #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_system_info","arguments":{}}}"#)
            #expect(status == .ok)
            #expect(call?["result"]?["isError"] == false)
            #expect(call?["result"]?["structuredContent"]?["cpus"] != nil)
        }
    }

    @Test func protocolErrorsCarryTheRequestID() async throws {
        try await withGateway { client in
            let (status, unknownTool) = try await post(client, #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"no_such_tool"}}"#)
            #expect(status == .ok)
            #expect(unknownTool?["id"] == 4)
            #expect(unknownTool?["error"]?["code"] == -32602)
            let (_, unknownMethod) = try await post(client, #"{"jsonrpc":"2.0","id":"m","method":"resources/list"}"#)
            #expect(unknownMethod?["id"] == "m")
            #expect(unknownMethod?["error"]?["code"] == -32601)
            let (badParams, arguments) = try await post(client, #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_system_info","arguments":[1]}}"#)
            #expect(badParams == .ok)
            #expect(arguments?["error"]?["code"] == -32602)
        }
    }

    @Test func malformedMessagesGet400WithTheRightCode() async throws {
        try await withGateway { client in
            let (status, parse) = try await post(client, "{oops")
            #expect(status == .badRequest)
            #expect(parse?["error"]?["code"] == -32700)
            #expect(parse?["id"] == nil || parse?["id"] == .null)
            let (batchStatus, batch) = try await post(client, #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
            #expect(batchStatus == .badRequest)
            #expect(batch?["error"]?["code"] == -32600)
            let (_, version) = try await post(client, #"{"jsonrpc":"1.0","id":9,"method":"ping"}"#)
            #expect(version?["error"]?["code"] == -32600)
            #expect(version?["id"] == 9)
            let (_, nullID) = try await post(client, #"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)
            #expect(nullID?["error"]?["code"] == -32600)
        }
    }

    @Test func notificationsAndResponsesGet202WithoutABody() async throws {
        try await withGateway { client in
            let (status, body) = try await post(client, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            #expect(status == .accepted)
            #expect(body == nil)
            let (responseStatus, _) = try await post(client, #"{"jsonrpc":"2.0","id":1,"result":{}}"#)
            #expect(responseStatus == .accepted)
        }
    }

    @Test func requiresAValidAPIKey() async throws {
        try await withGateway { client in
            var headers = Self.headers
            headers[.authorization] = nil
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            headers[.authorization] = "Bearer wrong"
            let (status, _) = try await post(client, #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, headers: headers)
            #expect(status == .unauthorized)
        }
    }

    @Test func refusesOversizedBodies() async throws {
        try await withGateway(maxBody: "1KiB") { client in
            let big = #"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 2048) + #""}}"#
            let (status, body) = try await post(client, big)
            #expect(status == .contentTooLarge)
            #expect(body?["error"]?["message"]?.stringValue?.contains("1KiB") == true)
        }
    }

    @Test func getAndDeleteAreNotAllowed() async throws {
        try await withGateway { client in
            try await client.execute(uri: "/mcp", method: .get, headers: Self.headers) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
        }
    }

    @Test func anUnreachableToolServiceIsAToolErrorResult() async throws {
        let deadPort = TestEnvironment.freePorts(1)
        try await withGateway(toolsURL: "http://127.0.0.1:\(deadPort)") { client in
            let (status, call) = try await post(client, #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_system_info","arguments":{}}}"#)
            #expect(status == .ok)
            #expect(call?["result"]?["isError"] == true)
            #expect(call?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("tool service unavailable") == true)
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }
}
