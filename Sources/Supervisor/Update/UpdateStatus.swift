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
