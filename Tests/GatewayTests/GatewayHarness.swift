import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport

@testable import Gateway

/// A gateway (router test client) in front of a ``FileToolsFixture``, optionally with Redis.
enum GatewayHarness {
    static let keys = ["alice": "sbk_alice", "bob": "sbk_bob"]

    static func run(
        fixture: FileToolsFixture, redis: RedisServer?, _ overrides: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, GatewayParts) async throws -> Void
    ) async throws {
        try await fixture.run {
            var settings = [
                "SWITCHBOARD_TOOLS_URL": fixture.url,
                "SWITCHBOARD_LEARN_URL": "",
                "SWITCHBOARD_API_KEYS": keys.map { APIKeyAuthenticator.entry(principal: $0.key, key: $0.value) }.joined(separator: ","),
                "SWITCHBOARD_WORKSPACE": fixture.root.path,
                "SWITCHBOARD_REDIS_TIMEOUT": "150ms",
            ]
            if let redis { settings["SWITCHBOARD_REDIS_URL"] = redis.url }
            settings.merge(overrides) { _, new in new }
            let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, settings)
            let parts = try GatewayParts(environment)
            let app = Application(router: Gateway.buildRouter(environment, parts: parts), services: [environment.http, parts.telemetry] + parts.state.services)
            try await app.test(.router) { client in try await body(client, parts) }
        }
    }

    /// Posts a tools/call as `principal` and returns the JSON-RPC response.
    static func call(
        _ client: any TestClientProtocol, _ tool: String, _ arguments: String, as principal: String = "alice", meta: String? = nil, id: Int = 1
    ) async throws -> JSONValue {
        let metaMember = meta.map { ",\"_meta\":\($0)" } ?? ""
        let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)\#(metaMember)}}"#
        let headers: HTTPFields = [.authorization: "Bearer \(keys[principal]!)", .contentType: "application/json", .accept: "application/json, text/event-stream"]
        return try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            try JSONParser.parse(response.body)
        }
    }

    static func get(_ client: any TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: path, method: .get) { response in (response.status, String(buffer: response.body)) }
    }

    /// The `/ready` entry named `name`.
    static func readiness(_ client: any TestClientProtocol, _ name: String) async throws -> JSONValue? {
        let (_, body) = try await get(client, "/ready")
        return try JSONParser.parse(body)["dependencies"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }
}

extension JSONValue {
    /// `result.content[0].text` of a tools/call response.
    var resultText: String? { self["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue }
    /// `result._meta["switchboard/cache"].status`.
    var cacheStatus: String? { self["result"]?["_meta"]?["switchboard/cache"]?["status"]?.stringValue }
}
