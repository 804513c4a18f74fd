import ArgumentParser
import SwitchboardCore

/// `switchboard rollback SERVICE`: as `docker service rollback`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Return a service to its previous definition with its rollback_config."
    )

    @Argument(help: "The service to roll back.")
    var service: String

    @Flag(name: [.short, .customLong("detach")], help: "Return once the rollback has started instead of following it.")
    var detach = false

    @Option(name: .customLong("timeout"), help: "Seconds to follow the rollback before giving up waiting.")
    var timeout = 600

    @OptionGroup var options: StackOptions

    func run() async throws {
        let client = try options.requireClient()
        do {
            let answer = try await client.rollback(service)
            Output().note("\(service): rolling back to spec \(answer["spec_version"]?.intValue ?? 0)")
        } catch {
            Output().error("\(service): \(error)")
            throw ExitCode(1)
        }
        guard !detach else { return }
        throw ExitCode(try await UpdateCommand.follow(service, client: client, timeout: .seconds(timeout), success: "rollback_completed"))
    }
}
