import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// The built products, run as a user would: `switchboard up -d`, a real MCP client, `switchboard down`.
@Suite(.serialized)
struct StackEndToEndTests {
    @Test func aRealMCPClientListsAndCallsAToolThroughTheStack() async throws {
        let python = try #require(TestEnvironment.python, "no Python with the MCP client: run `make test` (it creates .venv)")
        let stack = StackFixture()
        let up = try await stack.run(["up", "-d"])
        #expect(up.code == 0, "up failed: \(up.stderr)")
        #expect(up.stdout.contains(stack.mcpURL))
        do {
            let ps = try await stack.run(["ps"])
            #expect(ps.code == 0)
            let rows = ps.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(rows.contains { $0.first == "tools" && $0[1] == "2" && $0[5] == "healthy" })
            let running = rows.filter { $0.count > 5 && $0[4] == "running" }
            #expect(running.count >= 6)
            #expect(running.allSatisfy { $0[5] == "healthy" }, "\(ps.stdout)")
            // The gateway was pointed at that redis-server.
            let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.gatewayPort)/ready"), timeout: .seconds(10))
            let readiness = try JSONParser.parse(try await ready.body.collect(upTo: 1 << 20))
            let redis = readiness["dependencies"]?.arrayValue?.first { $0["name"] == "redis" }
            #expect(redis?["detail"]?.stringValue?.hasPrefix("redis://127.0.0.1:\(stack.redisPort)/0") == true, "\(readiness)")
            for mode in ["auto", "legacy"] {
                let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/python/mcp_smoke.py").path
                let client = try await CommandRunner.run(python, [script, stack.mcpURL, stack.apiKey, mode], timeout: .seconds(60))
                #expect(client.code == 0, "\(mode): \(client.stderr)" as Comment)
                let output = try JSONParser.parse(client.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                #expect(output["tools"]?.arrayValue?.contains("get_system_info") == true)
                #expect(output["is_error"] == false)
                #expect(output["structured"]?["cpus"] != nil)
            }
        } catch {
            _ = try? await stack.run(["down"])
            throw error
        }
        let down = try await stack.run(["down"])
        #expect(down.code == 0, "\(down.stderr)")
        #expect(down.stdout.contains("stopped"))
        #expect(stack.survivors().isEmpty, "left behind: \(stack.survivors())")
    }

    /// `make up` on a machine without redis-server: the supervisor skips the redis service, and the gateway
    /// keeps its cache and limits in-process.
    @Test func withoutRedisServerTheStackRunsWithStateInProcess() async throws {
        var stack = StackFixture()
        stack.overrides["PATH"] = "/nonexistent"
        let up = try await stack.run(["up", "-d"])
        #expect(up.code == 0, "up failed: \(up.stderr)")
        do {
            let ps = try await stack.run(["ps"])
            #expect(ps.stdout.contains("no local program for image redis:7"), "\(ps.stdout)")
            let log = (try? String(contentsOf: stack.stateDirectory.appendingPathComponent("supervisor.log"), encoding: .utf8)) ?? ""
            #expect(log.contains("skipping service redis"), "\(log)")
            let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.gatewayPort)/ready"), timeout: .seconds(10))
            let readiness = try JSONParser.parse(try await ready.body.collect(upTo: 1 << 20))
            #expect(readiness["ready"] == true)
            let redis = readiness["dependencies"]?.arrayValue?.first { $0["name"] == "redis" }
            #expect(redis?["state"] == "disabled", "\(readiness)")
            var statuses: [String] = []
            for id in 1...2 {
                var request = HTTPClientRequest(url: stack.mcpURL)
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(stack.apiKey)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Accept", value: "application/json, text/event-stream")
                request.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"get_system_info","arguments":{}}}"#))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let body = try JSONParser.parse(try await response.body.collect(upTo: 1 << 20))
                statuses.append(body["result"]?["_meta"]?["switchboard/cache"]?["status"]?.stringValue ?? "\(body)")
            }
            #expect(statuses == ["miss", "hit"])
        } catch {
            _ = try? await stack.run(["down"])
            throw error
        }
        let down = try await stack.run(["down"])
        #expect(down.code == 0, "\(down.stderr)")
        #expect(stack.survivors().isEmpty, "left behind: \(stack.survivors())")
    }

    @Test func aMalformedComposeFileIsOneLineAndLeavesNothing() async throws {
        let directory = TestEnvironment.temporaryDirectory()
        let bad = directory.appendingPathComponent("bad.yml")
        try "services:\n  gateway:\n    x-switchboard: {command: [Gateway]}\n    healthcheck:\n      test: [\"CMD\", \"Gateway\", \"healthcheck\"]\n      interval: often\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let stack = StackFixture(composeFile: bad.path)
        let up = try await stack.run(["up", "-d"], timeout: .seconds(60))
        #expect(up.code == 1)
        #expect(up.stderr == "switchboard: services.gateway.healthcheck.interval: 'often' is not a duration (use units like 500ms, 10s, 1m30s) (in \(bad.path))\n")
        #expect(stack.survivors().isEmpty)
    }

    @Test func aPortInUseStopsUpWithOneLineAndNoOrphans() async throws {
        let stack = StackFixture()
        let blocker = try TCPBlocker(port: stack.toolsPort + 1)
        defer { blocker.close() }
        let up = try await stack.run(["up", "-d"], timeout: .seconds(60))
        #expect(up.code == 1)
        #expect(up.stderr.contains("port \(stack.toolsPort + 1) for tools.2 is already in use"), "\(up.stderr)")
        #expect(stack.survivors().isEmpty)
    }

    @Test func aServiceThatCannotStartFailsTheStartWithItsOwnReason() async throws {
        let directory = TestEnvironment.temporaryDirectory()
        let compose = directory.appendingPathComponent("compose.yml")
        try """
            services:
              tools:
                x-switchboard: {command: [ToolService], port: "${SWITCHBOARD_TOOLS_PORT}"}
                environment:
                  SWITCHBOARD_SHUTDOWN_GRACE: forever
                healthcheck: {test: ["CMD", "ToolService", "healthcheck"], interval: 1s, start_interval: 200ms, start_period: 10s}
            """.write(to: compose, atomically: true, encoding: .utf8)
        let stack = StackFixture(composeFile: compose.path)
        let up = try await stack.run(["up", "-d"], timeout: .seconds(60))
        #expect(up.code == 1)
        #expect(up.stderr.contains("tools.1 exited during start-up (exit code 2): "), "\(up.stderr)")
        #expect(up.stderr.contains("invalid value 'forever' for SWITCHBOARD_SHUTDOWN_GRACE"), "\(up.stderr)")
        #expect(stack.survivors().isEmpty)
    }
}

/// Holds a TCP port open for a test.
final class TCPBlocker: Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else { throw LiveServiceError(message: "cannot hold port \(port)") }
    }

    func close() { _ = Foundation.close(fd) }
}
