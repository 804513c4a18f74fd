import Foundation
import NIOHTTP1
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// The `/mcp` handlers through the router alone (no sockets); transport behaviour is tested live
/// in the other suites.
@Suite struct MCPEndpointTests {
    static let headers: HTTPFields = [
        .authorization: "Bearer \(GatewayStack.apiKey)", .contentType: "application/json", .accept: "application/json, text/event-stream",
    ]

    @Test func theRouterServesBothErasAndTheLegacyTransport() async throws {
        try await GatewayStack.withTools { toolsPort in
            let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, [
                "SWITCHBOARD_TOOLS_URL": "http://127.0.0.1:\(toolsPort)", "SWITCHBOARD_LEARN_URL": "",
                "SWITCHBOARD_API_KEYS": APIKeyAuthenticator.entry(principal: "tester", key: GatewayStack.apiKey),
            ])
            let parts = try GatewayParts(environment)
            let app = Application(router: Gateway.buildRouter(environment, parts: parts), services: [environment.http, parts.telemetry])
            try await app.test(.router) { client in
                let body = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#
                try await client.execute(uri: "/mcp", method: .post, headers: Self.headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.mcpSessionID] != nil)
                    let result = try JSONParser.parse(response.body)["result"]
                    #expect(result?["protocolVersion"] == "2025-06-18")
                }
                var modern = Self.headers
                modern[.mcpProtocolVersion] = "2026-07-28"
                modern[.mcpMethod] = "tools/list"
                try await client.execute(uri: "/mcp", method: .post, headers: modern, body: ByteBuffer(string: GatewayStack.modernBody(method: "tools/list"))) { response in
                    #expect(response.status == .ok)
                    let result = try JSONParser.parse(response.body)["result"]
                    #expect(result?["tools"]?.arrayValue?.isEmpty == false)
                }
                try await client.execute(uri: "/messages?session_id=none", method: .post, headers: Self.headers, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }
}
