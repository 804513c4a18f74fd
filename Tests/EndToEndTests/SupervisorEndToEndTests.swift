import AsyncHTTPClient
import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// The supervisor as an operator drives it: `switchboard up -d`, `update`, `rollback`, `scale`, `ps`, `logs`,
/// `top`, with a real MCP client (the official Python SDK) calling tools through the gateway the whole time.
@Suite(.serialized)
struct SupervisorEndToEndTests {
    /// Gateway and two tool-service replicas; the gateway learns the healthy replicas from the supervisor.
    /// With `TOOLS_MODE=flaky` a replica's first healthcheck passes and every later one fails.
    static func compose(marks: String) -> String {
        """
        services:
          gateway:
            x-switchboard: {command: [Gateway], port: "${SWITCHBOARD_GATEWAY_PORT}", endpoint: /mcp}
            environment:
              SWITCHBOARD_TOOLS_URL: http://tools:8081
              SWITCHBOARD_TOOLS_DISCOVERY: supervisor
              SWITCHBOARD_SUPERVISOR_URL: ${SWITCHBOARD_SUPERVISOR_URL}
              SWITCHBOARD_API_KEYS: ${SWITCHBOARD_API_KEYS}
              SWITCHBOARD_LEARN_URL: ""
              # Every call must reach a tool-service replica: no result cache.
              SWITCHBOARD_CACHE_TTL: "0"
            depends_on: {tools: {condition: service_healthy}}
            healthcheck: {test: ["CMD", "Gateway", "healthcheck"], interval: 1s, start_interval: 100ms, start_period: 30s}
            stop_grace_period: 5s
          tools:
            x-switchboard: {command: [ToolService], port: "${SWITCHBOARD_TOOLS_PORT}"}
            environment: {SWITCHBOARD_SHUTDOWN_GRACE: 5s}
            healthcheck:
              test: ["CMD-SHELL", 'if [ "$$TOOLS_MODE" = flaky ]; then m="\(marks)/$$SWITCHBOARD_PORT"; [ -e "$$m" ] && exit 1; touch "$$m"; fi; exec ToolService healthcheck']
              interval: 300ms
              start_interval: 100ms
              start_period: 30s
              retries: 2
              timeout: 5s
            stop_grace_period: 5s
            logging: {options: {max-size: 1m, max-file: "2"}}
            deploy:
              replicas: 2
              resources: {limits: {memory: 256M, pids: 256}}
              restart_policy: {condition: any, delay: 500ms}
              update_config: {parallelism: 1, delay: 3s, order: start-first, failure_action: rollback, monitor: 5s}
              rollback_config: {parallelism: 1, order: start-first, monitor: 1s}
        """
    }

    /// A stack of the compose above, started; `down` and the survivors check run after `body`.
    private func withStack(_ body: (StackFixture) async throws -> Void) async throws {
        let directory = TestEnvironment.temporaryDirectory("switchboard-e2e")
        let marks = directory.appendingPathComponent("marks")
        try FileManager.default.createDirectory(at: marks, withIntermediateDirectories: true)
        let compose = directory.appendingPathComponent("compose.yml")
        try Self.compose(marks: marks.path).write(to: compose, atomically: true, encoding: .utf8)
        let stack = StackFixture(composeFile: compose.path)
        let up = try await stack.run(["up", "-d"])
        try #require(up.code == 0, "up failed: \(up.stderr)")
        do {
            try await body(stack)
        } catch {
            _ = try? await stack.run(["down"])
            throw error
        }
        let down = try await stack.run(["down"])
        #expect(down.code == 0, "\(down.stderr)")
        #expect(stack.survivors().isEmpty, "left behind: \(stack.survivors())")
    }

    /// Calls tools through the gateway with the MCP SDK until the returned stop is called.
    private func startLoad(_ stack: StackFixture) async throws -> @Sendable () async throws -> JSONValue {
        let python = try #require(TestEnvironment.python, "no Python with the MCP client: run `make test` (it creates .venv)")
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/python/mcp_load.py").path
        let stop = stack.directory.appendingPathComponent("load-stop").path
        let load = Task { try await CommandRunner.run(python, [script, stack.mcpURL, stack.apiKey, stop, "4"], timeout: .seconds(300)) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: stop + ".started") {
            if ContinuousClock.now > deadline {
                load.cancel()
                throw LiveServiceError(message: "the MCP load never got its first answers")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return {
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            let result = try await load.value
            guard result.code == 0 else { throw LiveServiceError(message: "mcp_load.py failed: \(result.stderr)") }
            return try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// `switchboard logs …` in the stack's directory (logs take no compose file).
    private func logs(_ stack: StackFixture, _ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner.run(stack.switchboard, ["logs"] + arguments, environment: stack.environment, directory: stack.directory.path, timeout: .seconds(30))
    }

    private func tools(_ status: JSONValue) -> [JSONValue] {
        (status["replicas"]?.arrayValue ?? []).filter { $0["service"] == "tools" && $0["desired"] == "running" }
    }

    private func status(_ stack: StackFixture) async throws -> JSONValue {
        let ps = try await stack.run(["ps", "--json"])
        try #require(ps.code == 0, "\(ps.stderr)")
        return try JSONParser.parse(ps.stdout)
    }

    @Test func aStartFirstRollingUpdateUnderLoadFailsNoRequestAndAFailingOneRollsBack() async throws {
        try await withStack { stack in
            let stopLoad = try await startLoad(stack)
            let before = tools(try await status(stack)).compactMap { $0["task"]?.intValue }

            let update = try await stack.run(["update", "tools", "--env", "TOOLS_COLOUR=blue"])
            #expect(update.code == 0, "\(update.stdout)\(update.stderr)")
            #expect(update.stdout.contains("tools: completed: update completed  [2/2 replicas ready on spec 2]"), "\(update.stdout)")
            var current = tools(try await status(stack))
            #expect(current.count == 2)
            #expect(current.allSatisfy { $0["spec_version"] == 2 && $0["ready"] == true })
            let replaced = Set(current.compactMap { $0["task"]?.intValue })
            #expect(replaced.isDisjoint(with: before))

            // New replicas that pass their first healthcheck and then fail, within the 5 s monitor: rolled back
            // (before the 3 s delay lets the update reach slot 2, so one good replica serves throughout).
            let failing = try await stack.run(["update", "tools", "--env", "TOOLS_MODE=flaky"])
            #expect(failing.code == 1)
            #expect(failing.stdout.contains("rollback_completed: rollback completed"), "\(failing.stdout)")
            let service = try #require(try await status(stack)["services"]?.arrayValue?.first { $0["name"] == "tools" })
            #expect(service["spec_version"] == 2)
            let history = service["update_history"]?.arrayValue?.compactMap { $0["state"]?.stringValue } ?? []
            #expect(history.suffix(3) == ["updating", "rollback_started", "rollback_completed"])
            let reason = service["update_history"]?.arrayValue?.first { $0["state"] == "rollback_started" }?["message"]?.stringValue ?? ""
            #expect(reason.hasPrefix("update rolled back due to failure or early termination of task "))
            current = tools(try await status(stack))
            #expect(current.count == 2)
            #expect(current.allSatisfy { $0["spec_version"] == 2 && $0["ready"] == true })

            try await Task.sleep(for: .seconds(1))
            let load = try await stopLoad()
            #expect(load["failed"] == 0, "failed calls: \(load["errors"] ?? [])")
            #expect((load["ok"]?.intValue ?? 0) > 20)

            // The slot's log has the supervisor's account of it.
            let slot = try await logs(stack, ["tools.1"])
            #expect(slot.code == 0, "\(slot.stderr)")
            #expect(slot.stdout.contains("[switchboard] drained: out of the routing list"))
            #expect(slot.stdout.contains("(spec 3)"))
        }
    }

    @Test func scalingUpAndDownKeepsRoutingCorrect() async throws {
        try await withStack { stack in
            let stopLoad = try await startLoad(stack)
            let scaleUp = try await stack.run(["scale", "tools=3"])
            #expect(scaleUp.code == 0, "\(scaleUp.stderr)")
            #expect(scaleUp.stdout.contains("tools scaled to 3 (was 2)"))
            #expect(scaleUp.stdout.contains("tools: 3/3 ready"))
            // Every replica, the new one included, serves calls.
            try await Task.sleep(for: .seconds(2))
            let three = tools(try await status(stack))
            #expect(three.count == 3)
            var served: [Int64: Double] = [:]
            for replica in three {
                let port = try #require(replica["port"]?.intValue)
                served[port] = try await Self.callsServed(port: Int(port))
                #expect((served[port] ?? 0) > 0, "replica on port \(port) served no call")
            }
            let scaleDown = try await stack.run(["scale", "tools=1"])
            #expect(scaleDown.code == 0, "\(scaleDown.stderr)")
            #expect(scaleDown.stdout.contains("tools: 1/1 ready"))
            let one = tools(try await status(stack))
            #expect(one.map { $0["slot"] } == [1])
            let port = try #require(one.first?["port"]?.intValue)
            let beforeCalls = try await Self.callsServed(port: Int(port))
            try await Task.sleep(for: .seconds(1))
            #expect(try await Self.callsServed(port: Int(port)) > beforeCalls)
            let load = try await stopLoad()
            #expect(load["failed"] == 0, "failed calls: \(load["errors"] ?? [])")

            let ps = try await stack.run(["ps"])
            #expect(ps.stdout.contains("tools    1/1"))
            #expect(ps.stdout.contains("/256MiB"))
            let top = try await stack.run(["top", "--once"])
            #expect(top.code == 0)
            #expect(top.stdout.contains("PROCESSES"))
            #expect(top.stdout.contains("ToolService"))
            let all = try await logs(stack, ["--tail", "3", "tools"])
            #expect(all.stdout.contains("tools.3 | "))
            #expect(all.stdout.contains("tools.1 | "))
            let missing = try await logs(stack, ["tools.9"])
            #expect(missing.code == 1)
            #expect(missing.stderr.contains("no logs for tools.9 in "))
            let unknown = try await stack.run(["scale", "nope=2"])
            #expect(unknown.code == 1)
            #expect(unknown.stderr.contains("unknown service 'nope' (services: gateway, tools)"))
        }
    }

    /// `switchboard_http_requests_total` for the tool-call route on one replica.
    static func callsServed(port: Int) async throws -> Double {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        var total = 0.0
        for line in text.split(separator: "\n") where line.hasPrefix("switchboard_http_requests_total{") && line.contains("route=\"/v1/tools/call\"") {
            total += Double(line.split(separator: " ").last ?? "0") ?? 0
        }
        return total
    }
}
