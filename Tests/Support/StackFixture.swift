import Foundation
import SwitchboardCore

/// A whole stack started with `switchboard up -d` on free ports in a temporary directory.
public struct StackFixture: Sendable {
    public let directory: URL
    public let basePort: Int
    public var gatewayPort: Int { basePort }
    public var toolsPort: Int { basePort + 1 }
    public var learnPort: Int { basePort + 3 }
    public var metricsPort: Int { basePort + 4 }
    public var controlPort: Int { basePort + 5 }
    public var prometheusPort: Int { basePort + 6 }
    public var redisPort: Int { basePort + 7 }
    public var stateDirectory: URL { directory.appendingPathComponent(".switchboard") }
    public var mcpURL: String { "http://127.0.0.1:\(gatewayPort)/mcp" }

    public var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SWITCHBOARD_GATEWAY_PORT"] = String(gatewayPort)
        environment["SWITCHBOARD_TOOLS_PORT"] = String(toolsPort)
        environment["SWITCHBOARD_LEARN_PORT"] = String(learnPort)
        environment["SWITCHBOARD_METRICS_PORT"] = String(metricsPort)
        environment["SWITCHBOARD_CONTROL_PORT"] = String(controlPort)
        environment["SWITCHBOARD_PROMETHEUS_PORT"] = String(prometheusPort)
        environment["SWITCHBOARD_PROMETHEUS_CONFIG"] = prometheusConfig.path
        environment["SWITCHBOARD_REDIS_PORT"] = String(redisPort)
        environment["SWITCHBOARD_API_KEY"] = nil
        environment.merge(overrides) { _, new in new }
        return environment
    }

    /// Extra variables for `switchboard` (e.g. a PATH without redis-server).
    public var overrides: [String: String] = [:]

    public init(composeFile: String? = nil) {
        directory = TestEnvironment.temporaryDirectory("switchboard-stack")
        basePort = TestEnvironment.freePorts(8)
        self.composeFile = composeFile ?? TestEnvironment.packageRoot.appendingPathComponent("compose/docker-compose.yml").path
        try? writePrometheusConfig()
    }

    public let composeFile: String

    /// The stack's local Prometheus configuration pointed at this fixture's metrics port, scraping every second.
    public var prometheusConfig: URL { directory.appendingPathComponent("prometheus.yml") }

    /// Writes `prometheusConfig` from compose/prometheus/prometheus.local.yml.
    public func writePrometheusConfig() throws {
        let prometheus = TestEnvironment.packageRoot.appendingPathComponent("compose/prometheus")
        var text = try String(contentsOf: prometheus.appendingPathComponent("prometheus.local.yml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "127.0.0.1:9091", with: "127.0.0.1:\(metricsPort)")
        text = text.replacingOccurrences(of: "scrape_interval: 5s", with: "scrape_interval: 1s")
        text = text.replacingOccurrences(of: "refresh_interval: 5s", with: "refresh_interval: 1s")
        text = text.replacingOccurrences(of: "  - alerts.yml", with: "  - \(prometheus.appendingPathComponent("alerts.yml").path)")
        try text.write(to: prometheusConfig, atomically: true, encoding: .utf8)
    }

    public var switchboard: String { TestEnvironment.binDirectory.appendingPathComponent("switchboard").path }

    /// Runs `switchboard <arguments>` in the fixture's directory.
    public func run(_ arguments: [String], timeout: Duration = .seconds(180)) async throws -> CommandResult {
        try await CommandRunner.run(switchboard, arguments + ["-f", composeFile], environment: environment, directory: directory.path, timeout: timeout)
    }

    public var apiKey: String {
        (try? String(contentsOf: stateDirectory.appendingPathComponent("api-key"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    public var serviceSecret: String {
        (try? String(contentsOf: stateDirectory.appendingPathComponent("service-secret"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Live processes started from this build whose working directory is the fixture's.
    public func survivors() -> [String] {
        let bin = TestEnvironment.binDirectory.resolvingSymlinksInPath().path
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> String? in
            guard let pid = Int32(entry), pid != getpid() else { return nil }
            guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"), exe.hasPrefix(bin) || exe.hasSuffix("/redis-server")
            else { return nil }
            guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"), cwd == directory.resolvingSymlinksInPath().path else { return nil }
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), stat.contains(") Z ") { return nil }
            return "\(pid) \(exe)"
        }
    }
}
