import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import ToolService

/// The `/v1` API: listing, calls (JSON and NDJSON), validation errors, cancellation.
struct ToolControllerTests {
    let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)", .switchboardPrincipal: "alice"]

    func makeApp(_ harness: ToolHarness, port: Int? = nil) throws -> some ApplicationProtocol {
        var overrides: [String: String] = [:]
        if let port { overrides["SWITCHBOARD_PORT"] = String(port) }
        let environment = try TestEnvironment.make(service: "tools", keys: ConfigKey.toolService, overrides)
        return environment.makeApplication(router: buildRouter(environment, catalog: harness.catalog, runtime: harness.runtime))
    }

    static let toolNames = [
        "batch_file_operations", "check_command_exists", "create_directory", "edit_file", "execute_command", "get_file_info",
        "get_system_info", "get_system_status", "list_directory", "list_processes", "move_file", "read_file", "read_process_output",
        "search_files", "send_input", "start_process", "terminate_process", "write_file",
    ]

    @Test func listsEveryToolWithSchemasAndAnnotations() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            try await client.execute(uri: "/v1/tools", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(response.body)
                let tools = try #require(body["tools"]?.arrayValue)
                #expect(tools.compactMap { $0["name"]?.stringValue } == Self.toolNames)
                for tool in tools {
                    #expect(tool["inputSchema"]?["type"] == "object")
                    #expect(tool["inputSchema"]?["additionalProperties"] == false)
                    #expect(tool["annotations"]?["readOnlyHint"]?.boolValue != nil)
                    #expect(tool["description"]?.stringValue?.isEmpty == false)
                    _ = try JSONSchema(try #require(tool["inputSchema"]))
                }
                let read = try #require(tools.first { $0["name"] == "read_file" })
                #expect(read["annotations"]?["readOnlyHint"] == true)
                let execute = try #require(tools.first { $0["name"] == "execute_command" })
                #expect(execute["annotations"]?["openWorldHint"] == true)
                #expect(execute["annotations"]?["destructiveHint"] == true)
                #expect(body["revision"]?.stringValue?.count == 16)
            }
        }
        await harness.close()
    }

    @Test func refusesCallersWithoutTheServiceSecret() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            try await client.execute(uri: "/v1/tools", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
        await harness.close()
    }

    @Test func callsATool() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            let body = ByteBuffer(string: #"{"name":"get_system_info","arguments":{}}"#)
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .ok)
                let result = try JSONParser.parse(response.body)
                #expect(result["isError"] == false)
                #expect((result["structuredContent"]?["cpus"]?.intValue ?? 0) >= 1)
                #expect(result["content"]?.arrayValue?.first?["type"] == "text")
                #expect(result["_meta"]?["switchboard/isolation"]?["landlock"] != nil)
            }
        }
        let records = try harness.auditRecords()
        #expect(records.last?["principal"] == "alice")
        #expect(records.last?["tool"] == "get_system_info")
        await harness.close()
    }

    @Test func invalidArgumentsNameTheFieldAndTheRule() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            let cases: [(String, String)] = [
                (#"{"name":"read_file","arguments":{}}"#, "invalid arguments: arguments.path: is required (required)"),
                (#"{"name":"read_file","arguments":{"path":7}}"#, "invalid arguments: arguments.path: expected string, got integer (type)"),
                (#"{"name":"read_file","arguments":{"path":"a","colour":1}}"#, "invalid arguments: arguments.colour: is not allowed here (additionalProperties)"),
                (#"{"name":"read_file","arguments":{"path":"a","length":0}}"#, "invalid arguments: arguments.length: must be ≥ 1 (minimum)"),
                (#"{"name":"write_file","arguments":{"path":"a","content":"x","mode":"over"}}"#, #"invalid arguments: arguments.mode: must be one of "rewrite", "append" (enum)"#),
                (#"{"name":"execute_command","arguments":{"command":""}}"#, "invalid arguments: arguments.command: must be at least 1 characters long (minLength)"),
                (#"{"name":"edit_file","arguments":{"path":"a","edits":[{"old_text":"x"}]}}"#, "invalid arguments: arguments.edits[0].new_text: is required (required)"),
            ]
            for (body, message) in cases {
                try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok)
                    let result = try JSONParser.parse(response.body)
                    #expect(result["isError"] == true)
                    #expect(result["content"]?.arrayValue?.first?["text"]?.stringValue == message)
                }
            }
        }
        let records = try harness.auditRecords()
        #expect(records.allSatisfy { $0["decision"] == "invalid" && $0["rule"] == "schema" })
        await harness.close()
    }

    @Test func unknownToolAndBadBodiesAreClearErrors() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: ByteBuffer(string: #"{"name":"nope"}"#)) { response in
                #expect(response.status == .notFound)
                let body = try JSONParser.parse(response.body)
                #expect(body["error"]?["message"] == "unknown tool 'nope'")
            }
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                let body = try JSONParser.parse(response.body)
                #expect(body["error"]?["message"]?.stringValue?.hasPrefix("call body: invalid JSON") == true)
            }
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: ByteBuffer(string: #"{"arguments":{}}"#)) { response in
                #expect(response.status == .badRequest)
            }
        }
        await harness.close()
    }

    @Test func streamsProgressLinesThenTheResult() async throws {
        let harness = try ToolHarness()
        var streaming = auth
        streaming[.accept] = ToolServiceAPI.streamMediaType
        let headers = streaming
        try await makeApp(harness).test(.router) { client in
            let body = ByteBuffer(string: #"{"name":"execute_command","arguments":{"command":"sleep","args":["6"]}}"#)
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == ToolServiceAPI.streamMediaType)
                let lines = String(buffer: response.body).split(separator: "\n").map { try? JSONParser.parse(String($0)) }
                // A progress line about once a second (at least one for a 6 s command, even on a loaded machine).
                #expect(lines.count >= 2, "expected progress lines and the result: \(String(buffer: response.body))")
                let progress = lines.dropLast().compactMap { $0?["progress"] }
                #expect(progress.count == lines.count - 1)
                #expect((progress.first?["progress"]?.doubleValue ?? 0) >= 1)
                #expect(progress.first?["total"] == 30)
                #expect(lines.last??["result"]?["structuredContent"]?["exit_code"] == 0)
            }
        }
        await harness.close()
    }

    @Test func aCallCanBeCancelledByIdAndItsProcessesEnd() async throws {
        let harness = try ToolHarness()
        let port = TestEnvironment.freePorts(1)
        let app = try makeApp(harness, port: port)
        let marker = "61.\(Int.random(in: 100_000...999_999))"
        try await LiveService.with(app, port: port) {
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            let call = Task { () -> JSONValue in
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(ToolServiceAPI.callPath)")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(TestEnvironment.secret)")
                request.headers.add(name: ToolServiceAPI.callIDHeader, value: "call-\(marker)")
                request.body = .bytes(ByteBuffer(string: #"{"name":"execute_command","arguments":{"command":"sleep","args":["\#(marker)"]}}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                return try JSONParser.parse(try await response.body.collect(upTo: 1 << 20))
            }
            for _ in 0..<100 where !ToolHarness.processRunning(withMarker: marker) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(ToolHarness.processRunning(withMarker: marker))
            var cancel = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(ToolServiceAPI.cancelPath(callID: "call-\(marker)"))")
            cancel.method = .POST
            cancel.headers.add(name: "Authorization", value: "Bearer \(TestEnvironment.secret)")
            let accepted = try await client.execute(cancel, timeout: .seconds(5))
            #expect(accepted.status == .accepted)
            let result = try await call.value
            #expect(result["isError"] == true)
            #expect(result["structuredContent"]?["terminated_by"] == "cancelled")
            #expect(!ToolHarness.processRunning(withMarker: marker))
            let again = try await client.execute(cancel, timeout: .seconds(5))
            #expect(again.status == .notFound)
        }
        let record = try harness.auditRecords().last
        #expect(record?["outcome"] == "cancelled")
        await harness.close()
    }

    @Test func closingTheConnectionCancelsTheCall() async throws {
        let harness = try ToolHarness()
        let port = TestEnvironment.freePorts(1)
        let app = try makeApp(harness, port: port)
        let marker = "62.\(Int.random(in: 100_000...999_999))"
        try await LiveService.with(app, port: port) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            #expect(connected == 0)
            let body = #"{"name":"execute_command","arguments":{"command":"sleep","args":["\#(marker)"]}}"#
            let request = "POST /v1/tools/call HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestEnvironment.secret)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            for _ in 0..<100 where !ToolHarness.processRunning(withMarker: marker) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(ToolHarness.processRunning(withMarker: marker))
            close(fd)
            for _ in 0..<100 where ToolHarness.processRunning(withMarker: marker) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!ToolHarness.processRunning(withMarker: marker), "the command outlived its client")
        }
        await harness.close()
    }

    @Test func readyReportsPolicyIsolationAndAudit() async throws {
        let harness = try ToolHarness()
        try await makeApp(harness).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                let body = try JSONParser.parse(response.body)
                let dependencies = body["dependencies"]?.arrayValue ?? []
                let names = dependencies.compactMap { $0["name"]?.stringValue }
                #expect(names == ["catalog", "policy", "landlock", "cgroups", "audit"])
                let landlock = dependencies.first { $0["name"] == "landlock" }
                if Landlock.abi > 0 {
                    #expect(landlock?["state"] == "up")
                    #expect(landlock?["detail"]?.stringValue?.hasPrefix("Landlock ABI \(Landlock.abi)") == true)
                } else {
                    #expect(landlock?["state"] == "degraded")
                }
                #expect(dependencies.first { $0["name"] == "audit" }?["detail"]?.stringValue == harness.auditPath)
            }
        }
        await harness.close()
    }
}
