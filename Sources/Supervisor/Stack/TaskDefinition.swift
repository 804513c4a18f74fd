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
