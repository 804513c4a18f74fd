import ArgumentParser
import Foundation
import SwitchboardCore

/// `switchboard logs [-f] [-n N] SERVICE[.slot]`: a replica's log file (with its rotated files), or every
/// replica of a service prefixed with `service.slot |`. Works from the files, so also after a crash.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print the log of a replica (SERVICE.slot) or of every replica of a service (SERVICE); -f follows it."
    )

    @Argument(help: "SERVICE or SERVICE.slot")
    var target: String

    @Flag(name: [.short, .customLong("follow")], help: "Keep printing new lines (across rotations and new replicas) until interrupted.")
    var follow = false

    @Option(name: [.short, .customLong("tail")], help: "Only the last N lines of each replica before following.")
    var tail: Int?

    @Option(name: .customLong("state-dir"), help: "State directory (default: $SWITCHBOARD_STATE_DIR or .switchboard).")
    var stateDirectory: String?

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let directory = StateDirectory(stateDirectory ?? environment["SWITCHBOARD_STATE_DIR"] ?? ConfigKey.stateDirectory.defaultValue).logsDirectory
        let (service, slot) = ReplicaKey.parse(target)
        let prefixed = slot == nil
        var paths = Self.paths(in: directory, service: service, slot: slot)
        guard !paths.isEmpty else {
            Output().error("no logs for \(target) in \(directory)")
            throw ExitCode(1)
        }
        var followers: [String: LogFollower] = [:]
        for path in paths {
            let name = Self.replicaName(path)
            var lines: [String] = []
            for file in ReplicaLog.files(path: path) {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                lines += text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(text.hasSuffix("\n") || text.isEmpty ? 1 : 0)
            }
            if let tail { lines = Array(lines.suffix(tail)) }
            for line in lines { Self.emit(line, name: name, prefixed: prefixed) }
            if follow { followers[path] = LogFollower(path: path, fromEnd: true) }
        }
        fflush(nil)
        guard follow else { return }
        while true {
            try await Task.sleep(for: .milliseconds(200))
            if slot == nil {
                paths = Self.paths(in: directory, service: service, slot: nil)
                for path in paths where followers[path] == nil { followers[path] = LogFollower(path: path, fromEnd: false) }
            }
            for path in followers.keys.sorted() {
                for line in followers[path]!.poll() { Self.emit(line, name: Self.replicaName(path), prefixed: prefixed) }
            }
            fflush(nil)
        }
    }

    /// The live log files of a service's replicas (or of one), by slot.
    static func paths(in directory: String, service: String, slot: Int?) -> [String] {
        if let slot {
            let path = "\(directory)/\(service).\(slot).log"
            return ReplicaLog.files(path: path).isEmpty ? [] : [path]
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let slots = entries.compactMap { entry -> Int? in
            guard entry.hasPrefix(service + "."), entry.hasSuffix(".log") else { return nil }
            return Int(entry.dropFirst(service.count + 1).dropLast(4))
        }
        return slots.sorted().map { "\(directory)/\(service).\($0).log" }
    }

    static func replicaName(_ path: String) -> String {
        String((path as NSString).lastPathComponent.dropLast(4))
    }

    static func emit(_ line: String, name: String, prefixed: Bool) {
        print(prefixed ? "\(name) | \(line)" : line)
    }
}
