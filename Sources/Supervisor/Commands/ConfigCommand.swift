import ArgumentParser
import SwitchboardCore

/// `switchboard config`: every configuration key of every service, as the README's table.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Print the configuration table (Markdown).")

    func run() {
        print(ConfigKey.markdownTable)
    }
}
