import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard down`: stop every replica gracefully, then the supervisor.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop the stack: SIGTERM (or the service's stop_signal) to every replica, SIGKILL after stop_grace_period."
    )

    @Option(name: .customLong("timeout"), help: "Seconds to wait for the supervisor before killing what is left.")
    var timeout = 90

    @OptionGroup var options: StackOptions

    func run() async throws {
        let output = Output()
        let state = options.state
        guard let pid = state.runningSupervisor() else {
            cleanLeftovers(state)
            output.note("not running")
            return
        }
        do {
            try await options.controlClient().shutdown()
        } catch {
            kill(pid, SIGTERM)
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ProcessTable.isAlive(pid), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if ProcessTable.isAlive(pid) {
            output.error("supervisor (pid \(pid)) did not stop within \(timeout)s; killing it")
            kill(pid, SIGKILL)
        }
        cleanLeftovers(state)
        output.note("stopped")
    }

    /// Kills replica process groups a crashed supervisor may have left.
    private func cleanLeftovers(_ state: StateDirectory) {
        for group in state.readGroups() where !ProcessTable.members(ofGroup: group).isEmpty {
            kill(-group, SIGKILL)
        }
        state.writeGroups([])
    }
}
