import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// The stack with its Prometheus (Debian's package): every target up, every Grafana dashboard query
/// answered, `promtool check metrics` clean on every service, the built-in dashboard rendered.
@Suite(.serialized)
struct ObservabilityEndToEndTests {
    @Test func prometheusScrapesEveryReplicaAndAnswersEveryDashboardQuery() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"), "prometheus is not installed (make test installs it)")
        var fixture = StackFixture()
        // Three calls per principal on get_system_info: the last two of five are refused, so the
        // rate-limit panel has data; the first three are a cache miss and two hits for the cache panel.
        fixture.overrides["SWITCHBOARD_RATE_LIMITS"] = "principal-tool@get_system_info=3/1h"
        let stack = fixture
        let up = try await stack.run(["up", "-d"])
        #expect(up.code == 0, "up failed: \(up.stderr)")
        defer { Task { _ = try? await stack.run(["down"]) } }
        let client = HTTPClient.shared
        // Traffic: tool calls through the gateway.
        for id in 1...5 {
            var request = HTTPClientRequest(url: stack.mcpURL)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(stack.apiKey)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"get_system_info","arguments":{}}}"#))
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            let answer = try JSONParser.parse(try await response.body.collect(upTo: 1 << 20))
            #expect((answer["error"]?["code"] == -32029) == (id > 3), "call \(id): \(answer.jsonString)")
        }
        // promtool's linter on every service's own exposition.
        for port in [stack.gatewayPort, stack.toolsPort, stack.toolsPort + 1, stack.learnPort, stack.metricsPort] {
            let metrics = try await fetch("http://127.0.0.1:\(port)/metrics")
            let lint = try await promtoolCheckMetrics(metrics)
            #expect(lint.code == 0, "port \(port): \(lint.stdout)\(lint.stderr)")
        }
        // Every replica the supervisor runs is a Prometheus target, and up.
        let expectedTargets = 6  // gateway, tools ×2, learn, metrics, prometheus
        var healthy = 0
        for _ in 0..<60 {
            let targets = try JSONParser.parse(try await fetch("http://127.0.0.1:\(stack.prometheusPort)/api/v1/targets"))
            healthy = targets["data"]?["activeTargets"]?.arrayValue?.filter { $0["health"] == "up" }.count ?? 0
            if healthy == expectedTargets { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(healthy == expectedTargets)
        // Every query of the Grafana dashboard returns data (after a few scrapes so rates have points).
        try await Task.sleep(for: .seconds(4))
        let dashboard = try JSONParser.parse(Array(try Data(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("compose/grafana/dashboards/switchboard.json"))))
        let queries = (dashboard["panels"]?.arrayValue ?? []).flatMap { panel in
            (panel["targets"]?.arrayValue ?? []).compactMap { target in target["expr"]?.stringValue.map { (panel["title"]?.stringValue ?? "", $0) } }
        }
        #expect(queries.count >= 8)
        for (title, query) in queries {
            let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
            let answer = try JSONParser.parse(try await fetch("http://127.0.0.1:\(stack.prometheusPort)/api/v1/query?query=\(encoded)"))
            #expect(answer["status"] == "success", "\(title): \(answer.jsonString)")
            #expect((answer["data"]?["result"]?.arrayValue?.count ?? 0) > 0, "\(title): no data for \(query)")
        }
        // The built-in dashboard draws the same panels.
        let page = String(decoding: try await fetch("http://127.0.0.1:\(stack.metricsPort)/"), as: UTF8.self)
        #expect(page.contains("Tool calls per second by tool and outcome"))
        #expect(page.contains("<polyline"))
        let down = try await stack.run(["down"])
        #expect(down.code == 0)
        #expect(stack.survivors().isEmpty, "left behind: \(stack.survivors())")
    }

    private func fetch(_ url: String) async throws -> [UInt8] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        return Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
    }

    private func promtoolCheckMetrics(_ metrics: [UInt8]) async throws -> CommandResult {
        let file = TestEnvironment.temporaryDirectory().appendingPathComponent("metrics.txt")
        try Data(metrics).write(to: file)
        return try await CommandRunner.run("/bin/sh", ["-c", "promtool check metrics < '\(file.path)'"], timeout: .seconds(30))
    }
}
