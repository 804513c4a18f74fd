import Foundation
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// `Gateway --stdio`: the built binary launched as a command, driven over its stdin and stdout.
@Suite struct StdioTests {
    /// Collects stdout lines of a child process.
    final class Lines: @unchecked Sendable {
        private var iterator: AsyncStream<[UInt8]>.Iterator
        private var pending: [UInt8] = []
        init(_ stream: AsyncStream<[UInt8]>) { iterator = stream.makeAsyncIterator() }

        func next() async -> JSONValue? {
            while true {
                if let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeFirst(newline + 1)
                    return try? JSONParser.parse(line)
                }
                guard let chunk = await iterator.next() else { return nil }
                pending += chunk
            }
        }
    }

    @Test func aLocalClientSpeaksBothErasOverStdio() async throws {
        try await GatewayStack.withTools { toolsPort in
            var launch = ProcessLaunch(
                executable: TestEnvironment.binDirectory.appendingPathComponent("Gateway").path, arguments: ["--stdio"],
                environment: [
                    "SWITCHBOARD_TOOLS_URL": "http://127.0.0.1:\(toolsPort)", "SWITCHBOARD_SERVICE_SECRET": TestEnvironment.secret,
                    "SWITCHBOARD_LEARN_URL": "", "SWITCHBOARD_LOG_LEVEL": "warning",
                ]
            )
            launch.stdinPipe = true
            launch.stdout = .pipe
            let child = try await ChildProcess.spawn(launch)
            let input = try #require(child.stdin)
            let output = Lines(try #require(child.stdout))
            func send(_ line: String) { input.write(Data((line + "\n").utf8)) }

            send(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
            #expect(await output.next()?["result"]?["protocolVersion"] == "2025-11-25")
            send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            send("this is not json")
            #expect(await output.next()?["error"]?["code"] == -32700)
            send(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":"s"}}}"#)
            var progress: [Double] = []
            var result: JSONValue?
            while result == nil, let message = await output.next() {
                if message["method"] == "notifications/progress" { progress.append(message["params"]?["progress"]?.doubleValue ?? -1) }
                if message["id"] == 2 { result = message["result"] }
            }
            #expect(progress == [0, 50, 100])
            #expect(result?["isError"] == false)
            // A cancelled request gets no answer; the next one does.
            send(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_slow_operation","arguments":{"seconds":60}}}"#)
            try await Task.sleep(for: .milliseconds(300))
            send(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#)
            send(GatewayStack.modernBody(id: "4", method: "server/discover"))
            let discovered = await output.next()
            #expect(discovered?["id"] == 4)
            #expect(discovered?["result"]?["supportedVersions"]?.arrayValue?.first == "2026-07-28")
            send(GatewayStack.modernBody(id: "5", method: "tools/call", params: #""name":"test_simple_text""#))
            let modern = await output.next()
            #expect(modern?["id"] == 5)
            #expect(modern?["result"]?["resultType"] == "complete")
            // End of input: the process answers what is pending and exits.
            try input.close()
            #expect(await output.next() == nil)
            #expect(await child.wait() == .exited(0))
        }
    }
}
