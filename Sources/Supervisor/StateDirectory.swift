import Foundation
import SwitchboardCore

/// The supervisor's working state in `.switchboard/`: pid, logs, generated secrets.
struct StateDirectory: Sendable {
    let path: String

    init(_ path: String) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = URL(fileURLWithPath: absolute).standardized.path
    }

    var pidFile: String { "\(path)/supervisor.pid" }
    var logFile: String { "\(path)/supervisor.log" }
    var logsDirectory: String { "\(path)/logs" }
    var secretFile: String { "\(path)/service-secret" }
    var apiKeyFile: String { "\(path)/api-key" }
    var controlFile: String { "\(path)/control.json" }
    var groupsFile: String { "\(path)/process-groups" }

    func ensure() throws(StackError) {
        do {
            try FileManager.default.createDirectory(atPath: logsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StackError("cannot create state directory \(path): \((error as NSError).localizedDescription)")
        }
    }

    /// A secret kept in a 0600 file, created on first use.
    func secret(at file: String, prefix: String = "") throws(StackError) -> String {
        if let existing = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return existing
        }
        let value = prefix + Digest.randomToken()
        guard FileManager.default.createFile(atPath: file, contents: Data((value + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StackError("cannot write \(file)")
        }
        return value
    }

    /// The secret the services and the control API share.
    func serviceSecret() throws(StackError) -> String {
        try secret(at: secretFile)
    }

    /// The client API key: `SWITCHBOARD_API_KEY` when set, else generated into `api-key`.
    func apiKey(environment: [String: String]) throws(StackError) -> (key: String, source: String) {
        if let key = environment["SWITCHBOARD_API_KEY"], !key.isEmpty { return (key, "the SWITCHBOARD_API_KEY environment variable") }
        return (try secret(at: apiKeyFile, prefix: "sbk_"), apiKeyFile)
    }

    /// The running supervisor's pid, when its pid file names a live `switchboard` process.
    func runningSupervisor() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return nil
        }
        return ProcessTable.isAlive(pid) ? pid : nil
    }

    func writePid() {
        _ = FileManager.default.createFile(atPath: pidFile, contents: Data("\(getpid())\n".utf8), attributes: [.posixPermissions: 0o600])
    }

    func removePid() {
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Records replica process groups so `down` can clean up even after a supervisor crash.
    func writeGroups(_ groups: [Int32]) {
        let text = groups.map(String.init).joined(separator: "\n")
        _ = FileManager.default.createFile(atPath: groupsFile, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }

    func readGroups() -> [Int32] {
        guard let text = try? String(contentsOfFile: groupsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }
}

/// Facts about other processes from /proc.
enum ProcessTable {
    /// Alive and not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Pids of live processes in a process group.
    static func members(ofGroup group: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After "(comm)": state, ppid, pgrp.
            return fields.count > 2 && pid_t(fields[2]) == group && isAlive(pid)
        }
    }
}
