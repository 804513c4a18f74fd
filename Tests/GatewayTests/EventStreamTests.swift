import Foundation
import NIOHTTP1
import Synchronization
import SwitchboardCore
import Testing

@testable import Gateway

/// Tool-service replicas a test can swap, to change the catalogue under a running gateway.
final class SwitchableReplicas: ReplicaSource {
    private let urls: Mutex<[String]>
    init(_ urls: [String]) { self.urls = Mutex(urls) }
    func set(_ new: [String]) { urls.withLock { $0 = new } }
    func replicas() async -> [String] { urls.withLock { $0 } }
    var description: String { "switchable" }
}

/// Server-to-client streams: the handshake-era GET stream and 2026-07-28 `subscriptions/listen`.
@Suite struct EventStreamTests {
    /// Runs `body` with a gateway whose catalogue changes when `replicas` switches between a tool
    /// service with the conformance fixtures (`withFixtures`) and one without (`without`).
    func withSwitchableCatalogue(_ body: @Sendable (GatewayStack, SwitchableReplicas, String, String) async throws -> Void) async throws {
        try await GatewayStack.withTools(fixtures: true) { withPort in
            try await GatewayStack.withTools(fixtures: false) { withoutPort in
                let withFixtures = "http://127.0.0.1:\(withPort)"
                let without = "http://127.0.0.1:\(withoutPort)"
                let replicas = SwitchableReplicas([withFixtures])
                try await GatewayStack.withGateway(toolsPort: withPort, replicas: replicas) { stack in
                    try await body(stack, replicas, withFixtures, without)
                }
            }
        }
    }

    @Test func theGetStreamAnnouncesCatalogueChanges() async throws {
        try await withSwitchableCatalogue { stack, replicas, withFixtures, without in
            let initialize = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
            let session = try #require(initialize.headers.first(name: "Mcp-Session-Id"))
            _ = try await stack.post(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            let headers = GatewayStack.handshakeHeaders(version: "2025-11-25", session: session)
            try await stack.stream(.GET, "/mcp", headers: headers) { status, reader in
                #expect(status == 200)
                try await Task.sleep(for: .milliseconds(500))
                replicas.set([without])
                let message = try await reader.nextMessage()
                #expect(message?["method"] == "notifications/tools/list_changed")
                #expect(message?["id"] == nil)
            }
            let tools = try await stack.post(#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#).json?["result"]?["tools"]?.arrayValue ?? []
            #expect(!tools.contains { $0["name"] == "test_simple_text" })
            _ = withFixtures
        }
    }

    @Test func aNewerGetStreamOfTheSameSessionReplacesTheOlder() async throws {
        try await GatewayStack.with { stack in
            let initialize = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
            let session = try #require(initialize.headers.first(name: "Mcp-Session-Id"))
            let headers = GatewayStack.handshakeHeaders(version: "2025-11-25", session: session)
            try await stack.stream(.GET, "/mcp", headers: headers) { _, first in
                try await stack.stream(.GET, "/mcp", headers: headers) { status, _ in
                    #expect(status == 200)
                    // Each message goes to one stream only: the older stream ends.
                    let next = try await first.nextFrame()
                    #expect(next == nil)
                }
            }
        }
    }

    @Test func listenAcknowledgesThenTagsChanges() async throws {
        try await withSwitchableCatalogue { stack, replicas, withFixtures, without in
            _ = try await stack.modern("tools/list")
            let body = GatewayStack.modernBody(id: "\"L1\"", method: "subscriptions/listen", params: #""notifications":{"toolsListChanged":true,"promptsListChanged":true}"#)
            try await stack.stream(.POST, "/mcp", body, headers: GatewayStack.modernHeaders(method: "subscriptions/listen")) { status, reader in
                #expect(status == 200)
                let ack = try await reader.nextMessage()
                #expect(ack?["method"] == "notifications/subscriptions/acknowledged")
                #expect(ack?["params"]?["_meta"]?["io.modelcontextprotocol/subscriptionId"] == "L1")
                // Only what is honoured is acknowledged: tool list changes, not prompts.
                #expect(ack?["params"]?["notifications"] == ["toolsListChanged": true])
                try await Task.sleep(for: .milliseconds(500))
                replicas.set([without])
                let changed = try await reader.nextMessage()
                #expect(changed?["method"] == "notifications/tools/list_changed")
                #expect(changed?["params"]?["_meta"]?["io.modelcontextprotocol/subscriptionId"] == "L1")
            }
            let refused = try await stack.post(
                GatewayStack.modernBody(method: "subscriptions/listen"),
                headers: GatewayStack.modernHeaders(method: "subscriptions/listen").filter { $0.0 != "Accept" } + [("Accept", "application/json")]
            )
            #expect(refused.status == 406)
            _ = withFixtures
        }
    }
}
