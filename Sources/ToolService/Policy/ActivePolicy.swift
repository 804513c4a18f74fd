import CDispatch
import Foundation
import SwitchboardCore

/// Private directories every command gets as `HOME` and `TMPDIR` (writable inside the sandbox), made
/// once per process and removed at shutdown.
struct SandboxDirectories: Sendable {
    let base: String
    var home: String { base + "/home" }
    var temporary: String { base + "/tmp" }

    static func create() throws(PolicyError) -> SandboxDirectories {
        let parent = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(parent)/switchboard-tools-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PolicyError("cannot create the sandbox directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let directories = SandboxDirectories(base: String(cString: made))
        for path in [directories.home, directories.temporary] where mkdir(path, 0o700) != 0 {
            throw PolicyError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        return directories
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: base)
    }
}

/// The policy in force, compiled: roots opened, allowed programs resolved, the Landlock ruleset built.
/// A call keeps the snapshot it started with even when a reload replaces it.
final class ActivePolicy: Sendable {
    let document: SecurityPolicy
    /// Counts successful loads, starting at 1.
    let revision: Int
    let workspace: Workspace
    let commands: CommandPolicy
    let limits: SecurityPolicy.Limits
    let files: SecurityPolicy.Files
    /// nil when Landlock is unavailable or switched off.
    let landlock: Landlock.Ruleset?
    /// `enforced`, `unavailable` or `off`.
    let landlockState: String
    let landlockDetail: String
    /// What every command starts with (callers' variables are added on top).
    let environment: [String: String]

    /// Compiles `document`. `guarded` are files no writable root may contain (the policy file, the audit log).
    init(_ document: SecurityPolicy, revision: Int, directories: SandboxDirectories, guarded: [String] = []) throws(PolicyError) {
        var roots: [WorkspaceRoot] = []
        for root in document.roots {
            let opened = try WorkspaceRoot(path: root.path, writable: root.writable)
            if roots.contains(where: { $0.path == opened.path }) { continue }
            roots.append(opened)
        }
        guard !roots.isEmpty else { throw PolicyError("\(document.source): no root") }
        for file in guarded {
            let absolute = Workspace.normalize(file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file)
            let directory = CommandPolicy.realPath((absolute as NSString).deletingLastPathComponent) ?? (absolute as NSString).deletingLastPathComponent
            let real = directory + "/" + (absolute as NSString).lastPathComponent
            for root in roots where root.writable && (root.relative(real) != nil || root.relative(absolute) != nil) {
                throw PolicyError("\(file) is inside the writable root \(root.path): a command could rewrite it")
            }
        }
        self.document = document
        self.revision = revision
        workspace = Workspace(roots: roots, protected: document.files.protected, home: ProcessInfo.processInfo.environment["HOME"] ?? "/root")
        commands = CommandPolicy(document.commands)
        limits = document.limits
        files = document.files
        var environment = document.commands.environment
        environment["PATH"] = document.commands.searchPath
        environment["HOME"] = directories.home
        environment["TMPDIR"] = directories.temporary
        self.environment = environment
        switch document.sandbox.landlock {
        case .off:
            landlock = nil
            landlockState = "off"
            landlockDetail = "switched off by the policy (sandbox.landlock: off): commands are NOT confined to the roots"
        case .required, .bestEffort:
            if Landlock.abi == 0 {
                if document.sandbox.landlock == .required {
                    throw PolicyError("the policy requires Landlock (sandbox.landlock: required) and this kernel does not offer it")
                }
                landlock = nil
                landlockState = "unavailable"
                landlockDetail = "the kernel does not offer Landlock: commands are NOT confined to the roots"
            } else {
                let writable = roots.filter(\.writable).map(\.path) + [directories.home, directories.temporary] + document.sandbox.readWrite
                let readable = roots.filter { !$0.writable }.map(\.path) + document.sandbox.readOnly
                let ruleset = try Landlock.ruleset(readWrite: writable, readOnly: readable, network: document.sandbox.network)
                landlock = ruleset
                landlockState = "enforced"
                var detail = "Landlock ABI \(ruleset.abi): commands may write only \(roots.filter(\.writable).map(\.path).joined(separator: ", ")) and read only those, the read-only roots and system paths"
                if ruleset.networkRestricted { detail += "; TCP denied" }
                if ruleset.signalsScoped { detail += "; signals to processes outside the sandbox denied" }
                landlockDetail = detail
            }
        }
    }
}
