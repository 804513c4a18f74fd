/// One run of the updater over a service's dirty slots (swarmkit `Updater.Run`).
struct UpdateRun: Sendable {
    let id: Int
    /// A rollback run: uses `rollback_config`, and a failure pauses it (a rollback is never rolled back).
    let rollback: Bool
    let config: ComposeService.UpdateConfig
    /// Dirty slots when the run started: the denominator of the failure ratio.
    let dirtyCount: Int
    /// Slots not yet handed to a worker.
    var queue: [Int]
    /// Tasks this run created, with when each reached RUNNING (nil until then).
    var updatedTasks: [Int: ContinuousClock.Instant?] = [:]
    /// Tasks already counted as failures (each counts once).
    var counted: Set<Int> = []
    var failures = 0
    /// Cancelled: a new definition was pushed, a rollback started, or the stack is stopping.
    var stopped = false
    /// The failure action fired; no further slots are taken.
    var triggered = false

    /// swarmkit `failureTriggersAction`: `failures / dirty > max_failure_ratio`, compared as float32.
    var ratioExceeded: Bool {
        Float(failures) / Float(dirtyCount) > Float(config.maxFailureRatio)
    }
}
