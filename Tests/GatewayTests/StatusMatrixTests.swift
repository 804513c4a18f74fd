import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import Testing

@testable import Gateway

/// Every row of the status-code matrix (research note mcp-spec.md §1.7 and mcp-2026-07-28.md §4),
/// over real HTTP connections.
@Suite struct StatusMatrixTests {
    static let ping = #"{"jsonrpc":"2.0","id":7,"method":"ping"}"#

    @Test func notificationsAndResponsesAre202WithoutABody() async throws {
        try await GatewayStack.with { stack in
            let initialized = try await stack.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            #expect(initialized.status == 202)
            #expect(initialized.body.isEmpty)
            let response = try await stack.post(#"{"jsonrpc":"2.0","id":"s1","result":{}}"#)
            #expect(response.status == 202)
            let modern = try await stack.post(
                #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
                headers: GatewayStack.modernHeaders(method: "notifications/cancelled")
            )
            #expect(modern.status == 202)
            #expect(modern.body.isEmpty)
        }
    }

    @Test func malformedBodiesAre400WithTheCodeAndTheIDWhenReadable() async throws {
        try await GatewayStack.with { stack in
            let parse = try await stack.post("{oops")
            #expect(parse.status == 400)
            #expect(parse.json?["error"]?["code"] == -32700)
            #expect(parse.json?["id"] == .null)
            let version = try await stack.post(#"{"jsonrpc":"1.0","id":9,"method":"ping"}"#)
            #expect(version.status == 400)
            #expect(version.json?["error"]?["code"] == -32600)
            #expect(version.json?["id"] == 9)
            let nullID = try await stack.post(#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)
            #expect(nullID.json?["error"]?["code"] == -32600)
            let noMethod = try await stack.post(#"{"jsonrpc":"2.0","id":"x"}"#)
            #expect(noMethod.json?["error"]?["code"] == -32600)
            #expect(noMethod.json?["id"] == "x")
            let notObject = try await stack.post("[]", headers: GatewayStack.modernHeaders(method: "tools/list"))
            #expect(notObject.status == 400)
            #expect(notObject.json?["error"]?["code"] == -32600)
        }
    }

    @Test func batchesOnlyAt20250326() async throws {
        try await GatewayStack.with { stack in
            let batch = #"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#
            let old = try await stack.post(batch, headers: GatewayStack.handshakeHeaders(version: "2025-03-26"))
            #expect(old.status == 200)
            let answers = try #require(old.json?.arrayValue)
            #expect(answers.count == 2)
            #expect(answers[0]["id"] == 1)
            #expect(answers[0]["result"] == [:])
            #expect(answers[1]["error"]?["code"] == -32601)
            // No header and no session: 2025-03-26 is assumed, which had batches.
            #expect(try await stack.post(batch).status == 200)
            for version in ["2025-06-18", "2025-11-25"] {
                let refused = try await stack.post(batch, headers: GatewayStack.handshakeHeaders(version: version))
                #expect(refused.status == 400)
                #expect(refused.json?["error"]?["code"] == -32600)
                #expect(refused.json?["error"]?["message"]?.stringValue?.contains(version) == true)
            }
            let modern = try await stack.post(batch, headers: GatewayStack.modernHeaders(method: "ping"))
            #expect(modern.status == 400)
            #expect(modern.json?["error"]?["code"] == -32600)
            let initialize = try await stack.post(
                #"[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}]"#, headers: GatewayStack.handshakeHeaders(version: "2025-03-26")
            )
            #expect(initialize.json?.arrayValue?.first?["error"]?["code"] == -32600)
        }
    }

    @Test func unknownMethodsAre200InTheHandshakeEraAnd404InTheStatelessOne() async throws {
        try await GatewayStack.with { stack in
            let legacy = try await stack.post(#"{"jsonrpc":"2.0","id":"m","method":"resources/list"}"#)
            #expect(legacy.status == 200)
            #expect(legacy.json?["id"] == "m")
            #expect(legacy.json?["error"]?["code"] == -32601)
            for method in ["foo/bar", "initialize", "ping", "logging/setLevel", "resources/subscribe"] {
                let modern = try await stack.modern(method, id: "\"r\"")
                #expect(modern.status == 404, "\(method)")
                #expect(modern.json?["error"]?["code"] == -32601)
                #expect(modern.json?["error"]?["data"] == .string(method))
                #expect(modern.json?["id"] == "r")
            }
        }
    }

    @Test func sessionsThatDoNotVerifyAre404() async throws {
        try await GatewayStack.with { stack in
            let initialize = try await stack.post(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
            let session = try #require(initialize.headers.first(name: "Mcp-Session-Id"))
            #expect(session.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E })
            let ok = try await stack.post(Self.ping, headers: GatewayStack.handshakeHeaders(version: "2025-11-25", session: session))
            #expect(ok.status == 200)
            #expect(ok.json?["result"] == [:])
            var forged = Array(session)
            forged[10] = forged[10] == "A" ? "B" : "A"
            let tampered = try await stack.post(Self.ping, headers: GatewayStack.handshakeHeaders(version: "2025-11-25", session: String(forged)))
            #expect(tampered.status == 404)
            // A session is bound to the principal that opened it.
            let stolen = try await stack.post(Self.ping, headers: GatewayStack.handshakeHeaders(session: session, key: GatewayStack.otherKey))
            #expect(stolen.status == 404)
            // Without a session the handshake era is served statelessly.
            #expect(try await stack.post(Self.ping).status == 200)
        }
    }

    @Test func unsupportedProtocolVersionsAre400() async throws {
        try await GatewayStack.with { stack in
            let unknown = try await stack.post(
                GatewayStack.modernBody(method: "tools/list", version: "2099-01-01"), headers: GatewayStack.modernHeaders(method: "tools/list", version: "2099-01-01")
            )
            #expect(unknown.status == 400)
            #expect(unknown.json?["error"]?["code"] == -32022)
            #expect(unknown.json?["error"]?["data"]?["requested"] == "2099-01-01")
            #expect(unknown.json?["error"]?["data"]?["supported"]?.arrayValue?.contains("2026-07-28") == true)
            let notification = try await stack.post(
                #"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#, headers: GatewayStack.modernHeaders(method: "notifications/cancelled", version: "2099-01-01")
            )
            #expect(notification.status == 400)
            #expect(notification.json?["error"]?["code"] == -32022)
            #expect(notification.json?["id"] == .null)
        }
    }

    @Test func hostAndOriginAreChecked() async throws {
        try await GatewayStack.with { stack in
            var headers = GatewayStack.handshakeHeaders()
            let evil = try await stack.post(Self.ping, headers: headers + [("Host", "evil.example.com"), ("Origin", "http://evil.example.com")])
            #expect((400..<500).contains(evil.status))
            let badHost = try await stack.post(Self.ping, headers: headers + [("Host", "evil.example.com")])
            #expect(badHost.status == 421)
            #expect(badHost.json?["error"]?["message"]?.stringValue?.contains("SWITCHBOARD_ALLOWED_HOSTS") == true)
            let badOrigin = try await stack.post(Self.ping, headers: headers + [("Origin", "http://evil.example.com")])
            #expect(badOrigin.status == 403)
            #expect(badOrigin.json?["error"]?["message"]?.stringValue?.contains("SWITCHBOARD_ALLOWED_ORIGINS") == true)
            headers.append(("Origin", "http://localhost:5173"))
            for host in ["localhost", "127.0.0.1:\(stack.gatewayPort)", "[::1]:80"] {
                #expect(try await stack.post(Self.ping, headers: headers + [("Host", host)]).status == 200, "\(host)")
            }
        }
        try await GatewayStack.with(["SWITCHBOARD_ALLOWED_HOSTS": "mcp.example.com:443", "SWITCHBOARD_ALLOWED_ORIGINS": "*"]) { stack in
            let headers = GatewayStack.handshakeHeaders() + [("Origin", "https://anything.example")]
            let allowed = try await stack.post(Self.ping, headers: headers + [("Host", "mcp.example.com:443")])
            let otherPort = try await stack.post(Self.ping, headers: headers + [("Host", "mcp.example.com:8443")])
            let localhost = try await stack.post(Self.ping, headers: headers)
            #expect(allowed.status == 200)
            #expect(otherPort.status == 421)
            #expect(localhost.status == 421)
        }
    }

    @Test func aRequestWithoutAValidKeyIs401WithAChallenge() async throws {
        try await GatewayStack.with { stack in
            let headers = GatewayStack.handshakeHeaders().filter { $0.0 != "Authorization" }
            let missing = try await stack.post(Self.ping, headers: headers)
            #expect(missing.status == 401)
            #expect(missing.headers.first(name: "WWW-Authenticate") == "Bearer realm=\"switchboard\"")
            let wrong = try await stack.post(Self.ping, headers: headers + [("Authorization", "Bearer nope")])
            #expect(wrong.status == 401)
            #expect(wrong.headers.first(name: "WWW-Authenticate")?.contains("error=\"invalid_token\"") == true)
            // The discover probe of a client without a key gets 401 too, not a protocol answer.
            var modern = GatewayStack.modernHeaders(method: "server/discover").filter { $0.0 != "Authorization" }
            modern.append(("Authorization", "Bearer nope"))
            #expect(try await stack.post(GatewayStack.modernBody(method: "server/discover"), headers: modern).status == 401)
            #expect(try await stack.send(.GET, "/mcp", headers: headers + [("Accept", "text/event-stream")]).status == 401)
        }
    }

    @Test func getAndDeleteAnswerPerEra() async throws {
        try await GatewayStack.with { stack in
            let modernGet = try await stack.send(.GET, "/mcp", headers: GatewayStack.modernHeaders(method: "tools/list"))
            #expect(modernGet.status == 405)
            #expect(modernGet.headers.first(name: "Allow") == "POST")
            let modernDelete = try await stack.send(.DELETE, "/mcp", headers: GatewayStack.modernHeaders(method: "tools/list"))
            #expect(modernDelete.status == 405)
            let jsonOnly = try await stack.send(.GET, "/mcp", headers: GatewayStack.handshakeHeaders().filter { $0.0 != "Accept" } + [("Accept", "application/json")])
            #expect(jsonOnly.status == 406)
            let delete = try await stack.send(.DELETE, "/mcp", headers: GatewayStack.handshakeHeaders(version: "2025-11-25"))
            #expect(delete.status == 405)
            #expect(delete.headers.first(name: "Allow") == "GET, POST")
        }
    }

    @Test func acceptContentTypeAndSizeAreChecked() async throws {
        try await GatewayStack.with(["SWITCHBOARD_MAX_BODY": "1KiB"]) { stack in
            let headers = GatewayStack.handshakeHeaders()
            let html = try await stack.post(Self.ping, headers: headers.filter { $0.0 != "Accept" } + [("Accept", "text/html")])
            #expect(html.status == 406)
            let form = try await stack.post(Self.ping, headers: headers.filter { $0.0 != "Content-Type" } + [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(form.status == 415)
            let charset = try await stack.post(Self.ping, headers: headers.filter { $0.0 != "Content-Type" } + [("Content-Type", "application/json; charset=utf-8")])
            #expect(charset.status == 200)
            let big = #"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 4096) + #""}}"#
            let tooLarge = try await stack.post(big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.json?["error"]?["message"]?.stringValue?.contains("1KiB") == true)
            // Without a Content-Length (chunked) the body is refused once it passes the limit.
            var chunked = HTTPClientRequest(url: stack.base + "/mcp")
            chunked.method = .POST
            for (name, value) in GatewayStack.handshakeHeaders() { chunked.headers.add(name: name, value: value) }
            let (pieces, writer) = AsyncStream.makeStream(of: ByteBuffer.self)
            writer.yield(ByteBuffer(string: String(big.prefix(2000))))
            writer.yield(ByteBuffer(string: String(big.dropFirst(2000))))
            writer.finish()
            chunked.body = .stream(pieces, length: .unknown)
            let response = try await stack.client.execute(chunked, timeout: .seconds(10))
            #expect(response.status.code == 413)
        }
    }
}
