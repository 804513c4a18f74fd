import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard scale SERVICE=N …`: as `docker service scale`, waiting until the services converge.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Set the number of replicas of one or more services (SERVICE=N) and wait until they are ready."
    )

    @Argument(help: "SERVICE=N pairs.")
    var targets: [String]

    @Flag(name: [.short, .customLong("detach")], help: "Return at once instead of waiting for the replicas to be ready.")
    var detach = false

    @Option(name: .customLong("timeout"), help: "Seconds to wait for the replicas to be ready.")
    var timeout = 120

    @OptionGroup var options: StackOptions

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("name at least one SERVICE=N") }
        for target in targets where Self.parse(target) == nil {
            throw ValidationError("'\(target)' is not SERVICE=N with N a number from 0 to 1000")
        }
    }

    static func parse(_ target: String) -> (service: String, replicas: Int)? {
        let parts = target.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let replicas = Int(parts[1]), (0...1000).contains(replicas) else { return nil }
        return (parts[0], replicas)
    }

    func run() async throws {
        let client = try options.requireClient()
        let output = Output()
        var wanted: [(String, Int)] = []
        for target in targets {
            let (service, replicas) = Self.parse(target)!
            do {
                let answer = try await client.scale(service, replicas: replicas)
                output.note("\(service) scaled to \(replicas) (was \(answer["previous"]?.intValue ?? 0))")
                wanted.append((service, replicas))
            } catch {
                output.error("\(service): \(error)")
                throw ExitCode(1)
            }
        }
        guard !detach else { return }
        let deadline = ContinuousClock.now + .seconds(timeout)
        for (service, replicas) in wanted {
            while true {
                let entry = try await client.service(service)
                let ready = Int(entry["ready"]?.intValue ?? 0)
                if ready == replicas, try await Self.replicaCount(service, client: client) == replicas {
                    output.note("\(service): \(ready)/\(replicas) ready")
                    break
                }
                if ContinuousClock.now > deadline {
                    output.error("\(service): \(ready)/\(replicas) ready after \(timeout)s (see 'switchboard ps' and 'switchboard logs \(service)')")
                    throw ExitCode(1)
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Tasks of the service the supervisor still keeps (a scale-down is done when the extra ones are gone).
    static func replicaCount(_ service: String, client: ControlClient) async throws -> Int {
        let status = try await client.status()
        return (status["replicas"]?.arrayValue ?? []).filter { $0["service"]?.stringValue == service }.count
    }
}
