import SwitchboardCore

/// The supervisor's state of one service: its current and previous definition (Swarm's Spec and
/// PreviousSpec), desired replicas, and the state of its last update.
struct ServiceRuntime: Sendable {
    struct Version: Sendable {
        var spec: ComposeService
        var definition: TaskDefinition
        var number: Int
        var overrides: ServiceOverrides
    }

    var current: Version
    var previous: Version?
    var replicas: Int
    /// The state of the last update; every change is kept in ``updateHistory``.
    var update: UpdateStatus? {
        didSet {
            guard let update, update != oldValue else { return }
            updateHistory.append(update)
            if updateHistory.count > 20 { updateHistory.removeFirst(updateHistory.count - 20) }
        }
    }
    /// The latest update states, oldest first.
    private(set) var updateHistory: [UpdateStatus] = []

    var spec: ComposeService { current.spec }
    var definition: TaskDefinition { current.definition }
    var version: Int { current.number }
}
