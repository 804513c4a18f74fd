import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import ToolService

struct ToolControllerTests {
    func makeApp() throws -> some ApplicationProtocol {
        let environment = try TestEnvironment.make(service: "tools", keys: ConfigKey.toolService)
        return Application(router: buildRouter(environment, catalog: .standard(workspace: ".")))
    }

    let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)", .switchboardPrincipal: "alice"]

    @Test func listsToolsSortedWithSchemasAndAnnotations() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/tools", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let body = try JSONParser.parse(response.body)
                let tools = try #require(body["tools"]?.arrayValue)
                #expect(tools.map { $0["name"]?.stringValue ?? "" } == tools.map { $0["name"]?.stringValue ?? "" }.sorted())
                let info = try #require(tools.first { $0["name"] == "get_system_info" })
                #expect(info["inputSchema"]?["type"] == "object")
                #expect(info["outputSchema"]?["required"]?.arrayValue?.contains("cpus") == true)
                #expect(info["annotations"]?["readOnlyHint"] == true)
                #expect(body["revision"]?.stringValue?.count == 16)
            }
        }
    }

    @Test func refusesCallersWithoutTheServiceSecret() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v1/tools", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func callsGetSystemInfo() async throws {
        try await makeApp().test(.router) { client in
            let body = ByteBuffer(string: #"{"name":"get_system_info","arguments":{}}"#)
            try await client.execute(uri: "/v1/tools/call", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .ok)
                let result = try JSONParser.parse(response.body)
                #expect(result["isError"] == false)
                #expect((result["structuredContent"]?["cpus"]?.intValue ?? 0) >= 1)
                #expect(result["structuredContent"]?["architecture"]?.stringValue?.isEmpty == false)
                #expect(result["content"]?.arrayValue?.first?["type"] == "text")
            }
        }
    }

    @Test func unknownToolAndBadBodiesAreClearErrors() async throws {
        try await makeApp().test(.router) { client in
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
    }
}
