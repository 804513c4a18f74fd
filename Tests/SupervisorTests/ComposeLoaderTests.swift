import Foundation
import Logging
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

struct ComposeLoaderTests {
    let variables = ["SWITCHBOARD_SERVICE_SECRET": "s", "SWITCHBOARD_API_KEYS": "local:00"]

    @Test func loadsTheProjectComposeFileWithSwarmDefaults() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("compose/docker-compose.yml").path
        let project = try ComposeLoader.load(path: path, environment: variables)
        #expect(project.services.map(\.name) == ["gateway", "tools", "learn", "metrics", "redis", "prometheus", "grafana"])
        // Prometheus runs locally only when installed; Grafana has no local program and is skipped.
        #expect(project["prometheus"]?.local?.optional == true)
        #expect(project["prometheus"]?.healthcheck?.test == .exec(["switchboard", "probe", "http://127.0.0.1:9090/-/ready"]))
        #expect(project["grafana"]?.local == nil)
        let tools = try #require(project["tools"])
        #expect(tools.replicas == 2)
        #expect(tools.local?.command == ["ToolService"])
        #expect(tools.localPort(slot: 2) == 8082)
        #expect(tools.healthcheck?.test == .exec(["ToolService", "healthcheck"]))
        #expect(tools.healthcheck?.startInterval == .seconds(1))
        #expect(tools.resources.memory == 2 << 30)
        #expect(tools.resources.cpus == 2.0)
        #expect(tools.updateConfig.order == .startFirst)
        #expect(tools.stopGracePeriod == .seconds(10))
        // Merge keys bring the common environment in.
        #expect(tools.environment.contains { $0.key == "SWITCHBOARD_SERVICE_SECRET" && $0.value == "s" })
        let gateway = try #require(project["gateway"])
        #expect(gateway.dependsOn.map(\.service) == ["tools", "learn", "redis"])
        let redis = try #require(project["redis"])
        #expect(redis.image == "redis:7")
        #expect(redis.localPort(slot: 1) == 6379)
        #expect(redis.healthcheck?.test == .exec(["redis-cli", "-p", "6379", "ping"]))
        #expect(gateway.dependsOn.first?.condition == .healthy)
        #expect(gateway.local?.endpoint == "/mcp")
        #expect(try project.startOrder().map(\.name).firstIndex(of: "tools")! < project.startOrder().map(\.name).firstIndex(of: "gateway")!)
        // The rollback config keeps Swarm's defaults where unset.
        #expect(gateway.rollbackConfig.monitor == .seconds(5))
        #expect(gateway.rollbackConfig.failureAction == .pause)
    }

    @Test func aMissingRequiredVariableIsNamed() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("compose/docker-compose.yml").path
        #expect {
            try ComposeLoader.load(path: path, environment: [:])
        } throws: { error in
            "\(error)".contains("required variable SWITCHBOARD_SERVICE_SECRET is missing")
        }
    }

    @Test(arguments: [
        ("services:\n  a:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 30\n", "services.a.healthcheck.interval: '30' is not a duration"),
        ("services:\n  a:\n    image: x\n    replicas: 2\n", "services.a.replicas: unknown key"),
        ("services:\n  a:\n    image: x\n    deploy:\n      replicas: many\n", "services.a.deploy.replicas: expected an integer"),
        ("services:\n  a:\n    depends_on: [b]\n  b:\n    depends_on: [a]\n", "dependency cycle"),
        ("services:\n  a:\n    depends_on: [c]\n", "services.a.depends_on: unknown service 'c'"),
        ("services:\n  a:\n    deploy:\n      resources:\n        limits:\n          memory: lots\n", "services.a.deploy.resources.limits.memory: 'lots' is not a byte size"),
        ("services:\n  a:\n    deploy:\n      update_config:\n        order: random\n", "services.a.deploy.update_config.order: 'random' is not one of stop-first, start-first"),
        ("services: [1, 2]\n", "services: must be a mapping"),
        ("services:\n  a: {image: x\n", "not valid YAML"),
        ("services:\n  a:\n    ports: [\"80:http\"]\n", "services.a.ports[0]: 'http' is not a port number"),
        ("services:\n  a:\n    x-switchboard: {port: 80}\n", "services.a.x-switchboard.command: missing"),
    ])
    func errorsNameThePathOfTheBadKey(yaml: String, expected: String) {
        #expect {
            try ComposeLoader.parse(yaml, variables: [:])
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func interpolationFollowsCompose() throws {
        let interpolation = Interpolation(variables: ["A": "1", "EMPTY": ""])
        #expect(try interpolation.interpolate("${A}-$A-$$A", path: "") == "1-1-$A")
        #expect(try interpolation.interpolate("${MISSING:-d}|${EMPTY:-d}|${EMPTY-d}|${MISSING-d}", path: "") == "d|d||d")
        #expect(try interpolation.interpolate("${A:+set}|${EMPTY:+set}|${EMPTY+set}", path: "") == "set||set")
        #expect(try interpolation.interpolate("${MISSING:-${A}x}", path: "") == "1x")
        #expect(throws: ComposeError.self) { try interpolation.interpolate("${MISSING:?need it}", path: "p") }
        #expect(throws: ComposeError.self) { try interpolation.interpolate("${A", path: "p") }
    }

    @Test func commandStringsSplitLikeAShell() {
        #expect(ShellWords.split(#"redis-server --save "" --port '6379' a\ b"#) == ["redis-server", "--save", "", "--port", "6379", "a b"])
        #expect(ShellWords.split(#"unbalanced "quote"#) == nil)
    }

    @Test func portsAndDependenciesInEveryForm() throws {
        let yaml = """
            services:
              a:
                image: x
                ports: ["8080:80", "127.0.0.1:9000-9002:90", {target: 70, published: "7000"}, "5000"]
                depends_on:
                  b: {condition: service_completed_successfully, required: false}
              b:
                image: y
                environment: ["K=v", "EMPTY="]
                stop_signal: SIGINT
                stop_grace_period: 1m
            """
        let project = try ComposeLoader.parse(yaml, variables: [:])
        let a = try #require(project["a"])
        #expect(a.ports.map(\.published) == [8080...8080, 9000...9002, 7000...7000, nil])
        #expect(a.ports[1].hostIP == "127.0.0.1")
        #expect(a.localPort(slot: 2) == 8081)
        #expect(a.dependsOn.first?.condition == .completedSuccessfully)
        #expect(a.dependsOn.first?.required == false)
        let b = try #require(project["b"])
        #expect(b.environment.map { "\($0.key)=\($0.value)" } == ["K=v", "EMPTY="])
        #expect(b.stopSignal == SIGINT)
        #expect(b.stopGracePeriod == .seconds(60))
        #expect(b.restartPolicy == .init(condition: .any, delay: .seconds(5), maxAttempts: 0, window: .zero))
    }

    @Test func serviceURLsAreRewrittenToLocalReplicas() async throws {
        let yaml = """
            services:
              tools:
                x-switchboard: {command: [ToolService], port: 9100}
                deploy: {replicas: 3}
              learn:
                x-switchboard: {command: [LearnService], port: 9200}
            """
        let project = try ComposeLoader.parse(yaml, variables: [:])
        let settings = StackSettings(
            binDirectory: "/nonexistent", stateDirectory: "/tmp", workingDirectory: "/tmp", serviceSecret: "s", baseEnvironment: [:], console: nil
        )
        let stack = Stack(project: project, settings: settings, logger: .init(label: "t"))
        #expect(await stack.rewriteServiceURLs("http://tools:8081") == "http://127.0.0.1:9100,http://127.0.0.1:9101,http://127.0.0.1:9102")
        #expect(await stack.rewriteServiceURLs("http://learn:8090/v1, http://other:1") == "http://127.0.0.1:9200/v1,http://other:1")
        #expect(await stack.rewriteServiceURLs("plain value") == "plain value")
    }

    @Test func aRedisServiceRunsTheInstalledRedisServerOrItsURLsAreDropped() async throws {
        let port = TestEnvironment.freePorts(1)
        let yaml = """
            services:
              redis:
                image: redis:7
                ports: ["127.0.0.1:\(port):\(port)"]
            """
        let project = try ComposeLoader.parse(yaml, variables: [:])
        func stack(path: String) -> Stack {
            let settings = StackSettings(
                binDirectory: "/nonexistent", stateDirectory: NSTemporaryDirectory(), workingDirectory: "/tmp", serviceSecret: "s",
                baseEnvironment: ["PATH": path], console: nil
            )
            return Stack(project: project, settings: settings, logger: .init(label: "t"))
        }
        let without = stack(path: "/nonexistent")
        try await without.prepare()
        #expect(await without.skipped["redis"] == "no local program for image redis:7")
        #expect(await without.rewriteServiceURLs("redis://redis:6379") == "")
        #expect(await without.rewriteServiceURLs("redis://redis:6379,http://other:1") == "http://other:1")
        if RedisServer.executable != nil {
            let with = stack(path: "/usr/local/bin:/usr/bin:/bin")
            try await with.prepare()
            #expect(await with.skipped.isEmpty)
            #expect(await with.rewriteServiceURLs("redis://redis:6379") == "redis://127.0.0.1:\(port)")
        }
    }

    @Test func missingProgramsAreReportedBeforeAnythingStarts() async throws {
        let project = try ComposeLoader.parse("services:\n  a:\n    x-switchboard: {command: [NoSuchProgram]}\n", variables: [:])
        let settings = StackSettings(
            binDirectory: "/nonexistent", stateDirectory: NSTemporaryDirectory(), workingDirectory: "/tmp", serviceSecret: "s",
            baseEnvironment: ["PATH": "/usr/bin:/bin"], console: nil
        )
        let stack = Stack(project: project, settings: settings, logger: .init(label: "t"))
        await #expect {
            try await stack.prepare()
        } throws: { error in
            "\(error)".contains("program 'NoSuchProgram' not found")
        }
    }
}
