import Foundation
import SwitchboardCore

/// Everything a task is made from (Swarm's TaskSpec): when any part differs from the service's current
/// definition, the task is dirty and a rolling update replaces it. The replica count, `update_config`
/// and `rollback_config` are not part of it, as in Swarm.
struct TaskDefinition: Sendable, Equatable {
    /// The program and its arguments.
    var program: String
    var arguments: [String]
    /// The program file's identity: a rebuild gives it a new one.
    var binary: BinaryIdentity
    /// The compose `environment` with the changes `switchboard update --env` made (before URL rewriting).
    var environment: [String: String]
    var image: String?
    var healthcheck: ComposeService.Healthcheck?
    var stopSignal: Int32
    var stopGracePeriod: Duration
    var limits: ResourceLimits
    var restartPolicy: ComposeService.RestartPolicy
    var ports: [ComposeService.Port]
    var basePort: Int?
    /// `switchboard update --force` increments it (Swarm's ForceUpdate counter).
    var forceUpdate = 0
}

/// A program file's identity: device, inode, size and modification time.
struct BinaryIdentity: Sendable, Equatable, CustomStringConvertible {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init(path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        } else {
            device = 0
            inode = 0
            size = -1
            modified = 0
        }
    }

    var description: String { "inode \(inode), \(size) bytes, modified \(Date(timeIntervalSince1970: Double(modified) / 1e9))" }
}

/// What `switchboard update` changed on top of the compose file; kept for later updates.
struct ServiceOverrides: Sendable, Equatable {
    var environment: [String: String] = [:]
    var removedEnvironment: Set<String> = []
    /// A program given with `--binary`, replacing the compose file's.
    var binary: String?
    var forceUpdate = 0
}
