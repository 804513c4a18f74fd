import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport

@testable import Gateway
@testable import ToolService

/// A live tool service serving the conformance fixtures and a live gateway in front of it, on free
/// ports, driven over real HTTP connections (AsyncHTTPClient).
struct GatewayStack: Sendable {
    static let apiKey = "sbk_test_key"
    static let otherKey = "sbk_other_key"

    let gatewayPort: Int
    let toolsPort: Int
    let client: HTTPClient
    let parts: GatewayParts
    var base: String { "http://127.0.0.1:\(gatewayPort)" }

    /// Runs `body` with a stack; `gateway` overrides gateway configuration keys.
    static func with(
        _ gateway: [String: String] = [:], replicas: (@Sendable (Int) -> any ReplicaSource)? = nil,
        _ body: @Sendable (GatewayStack) async throws -> Void
    ) async throws {
        try await withTools { toolsPort in
            try await withGateway(toolsPort: toolsPort, gateway, replicas: replicas?(toolsPort), body)
        }
    }

    /// A tool service with the conformance fixtures on a free port.
    static func withTools<T: Sendable>(fixtures: Bool = true, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let port = TestEnvironment.freePorts(1)
        let directory = TestEnvironment.temporaryDirectory("switchboard-gateway-tools")
        let workspace = directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = try TestEnvironment.make(service: "tools", keys: ConfigKey.toolService, [
            "SWITCHBOARD_PORT": String(port), "SWITCHBOARD_WORKSPACE": workspace.path,
            "SWITCHBOARD_AUDIT_LOG": directory.appendingPathComponent("audit.jsonl").path,
        ])
        let app = environment.makeApplication(router: try ToolService.buildRouter(environment, catalog: .standard(conformanceFixtures: fixtures)))
        return try await LiveService.with(app, port: port) { try await body(port) }
    }

    /// A gateway on a free port in front of the tool service on `toolsPort`.
    static func withGateway(
        toolsPort: Int, _ overrides: [String: String] = [:], replicas: (any ReplicaSource)? = nil, policyInterval: Duration = .milliseconds(200),
        _ body: @Sendable (GatewayStack) async throws -> Void
    ) async throws {
        let port = TestEnvironment.freePorts(1)
        var settings = [
            "SWITCHBOARD_PORT": String(port),
            "SWITCHBOARD_TOOLS_URL": "http://127.0.0.1:\(toolsPort)",
            "SWITCHBOARD_LEARN_URL": "",
            // The transport is tested with results passed through unchanged; the cache has its own suites.
            "SWITCHBOARD_CACHE_TTL": "0",
            "SWITCHBOARD_API_KEYS": APIKeyAuthenticator.entry(principal: "tester", key: apiKey) + "," + APIKeyAuthenticator.entry(principal: "other", key: otherKey),
        ]
        settings.merge(overrides) { _, new in new }
        let environment = try TestEnvironment.make(service: "gateway", keys: ConfigKey.gateway, settings)
        let parts = try GatewayParts(environment, replicas: replicas, catalogTTL: .milliseconds(200), policyInterval: policyInterval)
        let app = environment.makeApplication(router: Gateway.buildRouter(environment, parts: parts), services: [parts.telemetry, parts.catalogWatch, parts.policy])
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await LiveService.with(app, port: port) {
                try await body(GatewayStack(gatewayPort: port, toolsPort: toolsPort, client: client, parts: parts))
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    // MARK: Requests

    /// Headers of a handshake-era request.
    static func handshakeHeaders(version: String? = nil, session: String? = nil, key: String = apiKey) -> [(String, String)] {
        var headers = [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        if let version { headers.append(("MCP-Protocol-Version", version)) }
        if let session { headers.append(("Mcp-Session-Id", session)) }
        return headers
    }

    /// Headers of a 2026-07-28 request, as the mcp 2.3.0 client sends them.
    static func modernHeaders(method: String, name: String? = nil, version: String = "2026-07-28") -> [(String, String)] {
        var headers = [
            ("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", version), ("Mcp-Method", method),
        ]
        if let name { headers.append(("Mcp-Name", name)) }
        return headers
    }

    /// A 2026-07-28 request body with the envelope in `params._meta` (plus `meta` members).
    static func modernBody(id: String = "1", method: String, params: String = "", meta: String = "", version: String = "2026-07-28") -> String {
        let envelope = #""io.modelcontextprotocol/protocolVersion":"\#(version)","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}"#
        let metaObject = "{" + envelope + (meta.isEmpty ? "" : "," + meta) + "}"
        let members = (params.isEmpty ? "" : params + ",") + #""_meta":"# + metaObject
        return #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":{\#(members)}}"#
    }

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        var json: JSONValue? { try? JSONParser.parse(body) }
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The JSON-RPC messages of an SSE body, in order.
        var events: [JSONValue] { SSEFrames.messages(text) }
    }

    func send(_ method: HTTPMethod = .POST, _ path: String = "/mcp", _ body: String? = nil, headers: [(String, String)]) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }

    func post(_ body: String, headers: [(String, String)] = GatewayStack.handshakeHeaders()) async throws -> Reply {
        try await send(.POST, "/mcp", body, headers: headers)
    }

    /// A modern request whose headers agree with its body.
    func modern(_ method: String, name: String? = nil, params: String = "", meta: String = "", id: String = "1") async throws -> Reply {
        try await post(Self.modernBody(id: id, method: method, params: params, meta: meta), headers: Self.modernHeaders(method: method, name: name))
    }

    /// Opens a streamed request and hands its body chunks to `body` as text until it returns.
    func stream<T: Sendable>(
        _ method: HTTPMethod = .GET, _ path: String = "/mcp", _ requestBody: String? = nil, headers: [(String, String)],
        _ body: @Sendable (Int, SSEReader) async throws -> T
    ) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let requestBody { request.body = .bytes(ByteBuffer(string: requestBody)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        return try await body(Int(response.status.code), SSEReader(response.body))
    }

    /// The tool service's Prometheus text.
    func toolMetrics() async throws -> String {
        let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(toolsPort)/metrics"), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 4 << 20))
    }

    /// Waits until the tool service counted a call of `tool` with `outcome`.
    func waitForToolOutcome(_ tool: String, _ outcome: String, timeout: Duration = .seconds(10)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let metrics = try await toolMetrics()
            if metrics.split(separator: "\n").contains(where: { $0.hasPrefix("switchboard_tool_calls_total") && $0.contains("tool=\"\(tool)\"") && $0.contains("outcome=\"\(outcome)\"") }) {
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// Reads server-sent events from a streamed response body.
final class SSEReader: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var buffer = ""

    init(_ body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    /// The next complete frame (text up to a blank line), or nil when the stream ended.
    func nextFrame() async throws -> String? {
        while true {
            if let range = buffer.range(of: "\n\n") {
                let frame = String(buffer[..<range.lowerBound])
                buffer = String(buffer[range.upperBound...])
                return frame
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }

    /// The next JSON-RPC message, skipping comments and other events.
    func nextMessage() async throws -> JSONValue? {
        while let frame = try await nextFrame() {
            if let message = SSEFrames.messages(frame + "\n\n").first { return message }
        }
        return nil
    }
}

enum SSEFrames {
    /// The `data:` of every `message` event in an SSE text.
    static func messages(_ text: String) -> [JSONValue] {
        text.components(separatedBy: "\n\n").compactMap { frame in
            let lines = frame.split(separator: "\n")
            guard lines.contains("event: message"), let data = lines.first(where: { $0.hasPrefix("data: ") }) else { return nil }
            return try? JSONParser.parse(String(data.dropFirst(6)))
        }
    }
}
