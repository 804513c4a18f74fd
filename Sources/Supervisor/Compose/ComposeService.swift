import Foundation
import SwitchboardCore

/// One service of a compose file, with compose's and Swarm's defaults applied.
struct ComposeService: Sendable {
    struct Port: Sendable, Equatable {
        /// Host port range (one port when lower == upper); nil when not published.
        var published: ClosedRange<Int>?
        var target: Int
        var hostIP: String?
    }

    enum DependencyCondition: String, Sendable {
        case started = "service_started"
        case healthy = "service_healthy"
        case completedSuccessfully = "service_completed_successfully"
    }

    struct Dependency: Sendable {
        var service: String
        var condition: DependencyCondition
        var required: Bool
    }

    struct Healthcheck: Sendable, Equatable {
        enum Test: Sendable, Equatable {
            /// Exec form: argv.
            case exec([String])
            /// Run through `/bin/sh -c`.
            case shell(String)
        }
        var test: Test
        var interval: Duration = .seconds(30)
        var timeout: Duration = .seconds(30)
        var retries = 3
        var startPeriod: Duration = .zero
        var startInterval: Duration = .seconds(5)
    }

    struct RestartPolicy: Sendable, Equatable {
        enum Condition: String, Sendable {
            case none
            case onFailure = "on-failure"
            case any
        }
        var condition: Condition = .any
        var delay: Duration = .seconds(5)
        /// 0 = unlimited.
        var maxAttempts = 0
        /// 0 = count every restart of this spec version.
        var window: Duration = .zero
    }

    struct UpdateConfig: Sendable, Equatable {
        enum FailureAction: String, Sendable {
            case pause, `continue`, rollback
        }
        enum Order: String, Sendable {
            case stopFirst = "stop-first"
            case startFirst = "start-first"
        }
        var parallelism = 1
        var delay: Duration = .zero
        var failureAction: FailureAction = .pause
        /// Swarm treats 0 as the 5 s default.
        var monitor: Duration = .seconds(5)
        var maxFailureRatio = 0.0
        var order: Order = .stopFirst
    }

    struct Resources: Sendable, Equatable {
        var cpus: Double?
        var memory: Int64?
        var pids: Int64?
        var reservedCPUs: Double?
        var reservedMemory: Int64?
    }

    /// `x-switchboard`: how the supervisor runs this service as a local process.
    struct LocalRun: Sendable, Equatable {
        /// Program and arguments; the program is looked up next to `switchboard`, then on PATH.
        var command: [String]
        /// Port of replica 1 (replica n listens on port + n - 1).
        var port: Int?
        /// Path announced after `up`, e.g. `/mcp` for the gateway.
        var endpoint: String?
        /// Skip the service with a warning when its program is not installed (instead of failing).
        var optional = false
        /// A local replacement for the compose healthcheck test (e.g. when the image's probe uses a tool
        /// that is not installed here).
        var healthcheck: LocalHealthcheck = .inherit
    }

    enum LocalHealthcheck: Sendable, Equatable {
        case inherit
        case disabled
        case replaced(Healthcheck.Test)
    }

    let name: String
    var image: String?
    var command: [String]?
    var environment: [(key: String, value: String)] = []
    var ports: [Port] = []
    var dependsOn: [Dependency] = []
    var healthcheck: Healthcheck?
    var replicas = 1
    var resources = Resources()
    var restartPolicy = RestartPolicy()
    var updateConfig = UpdateConfig()
    var rollbackConfig = UpdateConfig()
    var stopSignal: Int32 = SIGTERM
    var stopGracePeriod: Duration = .seconds(10)
    var local: LocalRun?
    /// `x-autoscale`, kept for the autoscaler.
    var autoscale: JSONValue?

    /// The port replica `slot` listens on locally.
    func localPort(slot: Int) -> Int? {
        if let base = local?.port { return base + slot - 1 }
        if let published = ports.first?.published {
            return published.count > 1 ? min(published.lowerBound + slot - 1, published.upperBound) : published.lowerBound + slot - 1
        }
        return nil
    }
}

/// A parsed compose file.
struct ComposeProject: Sendable {
    /// Services in file order.
    var services: [ComposeService]
    /// Path of the file it came from.
    var path: String

    subscript(name: String) -> ComposeService? { services.first { $0.name == name } }

    /// Services ordered so that every dependency comes before its dependents.
    func startOrder() throws(ComposeError) -> [ComposeService] {
        var ordered: [ComposeService] = []
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ service: ComposeService, chain: [String]) throws(ComposeError) {
            if state[service.name] == 2 { return }
            if state[service.name] == 1 {
                throw ComposeError(path: "services.\(service.name).depends_on", message: "dependency cycle: \((chain + [service.name]).joined(separator: " → "))")
            }
            state[service.name] = 1
            for dependency in service.dependsOn {
                guard let target = self[dependency.service] else {
                    if dependency.required {
                        throw ComposeError(path: "services.\(service.name).depends_on", message: "unknown service '\(dependency.service)'")
                    }
                    continue
                }
                try visit(target, chain: chain + [service.name])
            }
            state[service.name] = 2
            ordered.append(service)
        }
        for service in services { try visit(service, chain: []) }
        return ordered
    }
}
