import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard`: runs the suite from its compose file.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Run the Switchboard suite locally from compose/docker-compose.yml.",
        version: ServiceIdentity.version,
        subcommands: [UpCommand.self, DownCommand.self, PsCommand.self, ConfigCommand.self, ProbeCommand.self]
    )
}

/// Options every stack command shares.
struct StackOptions: ParsableArguments {
    @Option(name: [.short, .customLong("file")], help: "Compose file (default: $SWITCHBOARD_COMPOSE_FILE or compose/docker-compose.yml).")
    var file: String?

    @Option(name: .customLong("state-dir"), help: "State directory (default: $SWITCHBOARD_STATE_DIR or .switchboard).")
    var stateDirectory: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var composePath: String {
        let path = file ?? environment["SWITCHBOARD_COMPOSE_FILE"] ?? ConfigKey.composeFile.defaultValue
        return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    var state: StateDirectory {
        StateDirectory(stateDirectory ?? environment["SWITCHBOARD_STATE_DIR"] ?? ConfigKey.stateDirectory.defaultValue)
    }

    /// The control port, validated like any other configuration key.
    func controlPort() throws -> Int {
        do {
            let configuration = try ServiceConfiguration(keys: ConfigKey.supervisor, environment: environment, arguments: [])
            return configuration.int(.controlPort)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func controlClient() throws -> ControlClient {
        let secret = (try? String(contentsOfFile: state.secretFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return ControlClient(baseURL: "http://127.0.0.1:\(try controlPort())", secret: secret)
    }
}
