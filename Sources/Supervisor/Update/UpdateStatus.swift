import Foundation
import SwitchboardCore

/// A service's update state, with swarmkit's states and messages.
struct UpdateStatus: Sendable, Equatable {
    enum State: String, Sendable {
        case updating, paused, completed
        case rollbackStarted = "rollback_started"
        case rollbackPaused = "rollback_paused"
        case rollbackCompleted = "rollback_completed"

        /// Paused states wait for a new `update` (or `rollback`); an updater does not run.
        var isPaused: Bool { self == .paused || self == .rollbackPaused }
        var isFinished: Bool { self == .completed || self == .rollbackCompleted || isPaused }
    }

    var state: State
    var message: String
    var startedAt = Date()
    var completedAt: Date?

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("state", .string(state.rawValue)), ("message", .string(message)), ("started_at", .double(startedAt.timeIntervalSince1970)),
        ]
        if let completedAt { members.append(("completed_at", .double(completedAt.timeIntervalSince1970))) }
        return .object(members)
    }
}

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
