import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore

/// What tools run with besides their arguments: the policy store, cgroups, background processes, the
/// audit log and metrics. One per service process.
final class ToolRuntime: Sendable {
    let policies: PolicyStore
    let cgroups: CgroupManager
    let processes: ProcessTable
    let audit: AuditLog
    let metrics: ToolMetrics?
    let replica: Int
    let directories: SandboxDirectories

    struct Settings: Sendable {
        var workspace: String
        var policyFile: String?
        var auditLog: String?
        var auditMaxSize = 10 << 20
        var replica = 1
    }

    init(_ settings: Settings, metrics: ToolMetrics?, logger: Logger) throws(PolicyError) {
        // A command that exits while we write to its stdin must not kill the service.
        signal(SIGPIPE, SIG_IGN)
        directories = try SandboxDirectories.create()
        policies = try PolicyStore(
            file: settings.policyFile, workspace: settings.workspace, directories: directories, guarded: settings.auditLog.map { [$0] } ?? [],
            logger: logger, reloaded: { metrics?.policyReload(succeeded: $0) }
        )
        audit = try AuditLog(path: settings.auditLog, maxSize: settings.auditMaxSize)
        cgroups = CgroupManager.shared
        processes = ProcessTable(changed: { metrics?.processesRunning($0) })
        self.metrics = metrics
        replica = settings.replica
    }

    /// `_meta["switchboard/isolation"]` of every result: whether commands are confined, and how limits are enforced.
    func isolation(_ policy: ActivePolicy) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("landlock", .string(policy.landlockState))]
        if Landlock.abi > 0 { members.append(("landlock_abi", .int(Int64(Landlock.abi)))) }
        members.append(("limits", .string(cgroups.mechanism)))
        if policy.landlock == nil { members.append(("warning", "commands are not confined to the roots by the operating system")) }
        members.append(("replica", .int(Int64(replica))))
        return .object(members)
    }

    /// `/ready` entries: the policy, OS confinement, cgroups and the audit log.
    var readinessChecks: [any ReadinessCheck] {
        [
            ReadinessProbe { [policies] in
                let policy = policies.current
                let roots = policy.workspace.roots.map { "\($0.path)\($0.writable ? "" : " (read-only)")" }.joined(separator: ", ")
                let summary = "\(policy.document.source), revision \(policy.revision), roots: \(roots), shell \(policy.commands.shellAllowed ? "allowed" : "disabled")"
                if let error = policies.lastError {
                    return DependencyStatus(name: "policy", state: .degraded, detail: "\(summary); last reload failed: \(error)")
                }
                return DependencyStatus(name: "policy", state: .up, detail: summary)
            },
            ReadinessProbe { [policies] in
                let policy = policies.current
                let state: DependencyStatus.State = policy.landlock == nil ? .degraded : .up
                return DependencyStatus(name: "landlock", state: state, required: false, detail: policy.landlockDetail)
            },
            ReadinessProbe { [cgroups] in
                DependencyStatus(name: "cgroups", state: cgroups.mechanism == "rlimit" ? .degraded : .up, required: false, detail: cgroups.detail)
            },
            ReadinessProbe { [audit] in
                DependencyStatus(name: "audit", state: audit.path == nil ? .disabled : .up, required: false, detail: audit.path ?? "no audit log configured")
            },
        ]
    }

    /// Ends background processes and removes the sandbox directories (service shutdown).
    func shutdown() async {
        await processes.terminateAll()
        cgroups.removeBases()
        directories.remove()
    }
}

extension CgroupManager {
    /// One per process: execution cgroups are numbered from a single counter.
    static let shared = CgroupManager.detect()
}

/// Ends the runtime's background processes when the service shuts down.
struct ToolRuntimeService: Service {
    let runtime: ToolRuntime

    func run() async throws {
        try? await gracefulShutdown()
        await runtime.shutdown()
    }
}
