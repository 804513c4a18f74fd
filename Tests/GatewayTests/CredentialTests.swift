import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// The client's API key stays at the gateway: downstream calls carry the service secret and the principal.
@Suite struct CredentialTests {
    /// Every header a backend received, kept by a minimal `/v1` tool service that records what reaches it.
    final class Recorder: Sendable {
        let requests = Mutex<[HTTPFields]>([])
    }

    @Test func theClientKeyIsNeverForwarded() async throws {
        let recorder = Recorder()
        let port = TestEnvironment.freePorts(1)
        let router = Router()
        router.get("v1/tools") { request, _ in
            recorder.requests.withLock { $0.append(request.headers) }
            return Response.json(Array(#"{"tools":[{"name":"echo","description":"Echo","inputSchema":{"type":"object"}}],"revision":"r1"}"#.utf8))
        }
        router.post("v1/tools/call") { request, _ in
            recorder.requests.withLock { $0.append(request.headers) }
            return Response.json(Array(#"{"content":[{"type":"text","text":"ok"}],"isError":false}"#.utf8))
        }
        let backend = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await LiveService.with(backend, port: port) {
            try await GatewayStack.withGateway(toolsPort: port) { stack in
                let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#
                #expect(try await stack.post(call).json?["result"]?["content"]?.arrayValue?.first?["text"] == "ok")
                let streamed = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":1}}}"#
                // A backend that answers a streamed call with plain JSON is understood as well.
                #expect(try await stack.post(streamed).json?["result"]?["content"]?.arrayValue?.first?["text"] == "ok")
                _ = try await stack.modern("tools/call", name: "echo", params: #""name":"echo""#)
            }
        }
        let seen = recorder.requests.withLock { $0 }
        #expect(seen.count >= 4)
        for headers in seen {
            #expect(!headers.contains { $0.value.contains(GatewayStack.apiKey) }, "\(headers)")
            #expect(headers[.authorization] == "Bearer \(TestEnvironment.secret)")
        }
        #expect(seen.filter { $0[.switchboardPrincipal] == "tester" }.count >= 3)
    }
}
