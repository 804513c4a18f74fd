import Foundation
import SwitchboardCore

/// Identifies a replica: service name and slot (1…n), shown as `service.slot`.
struct ReplicaKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    let service: String
    let slot: Int
    var description: String { "\(service).\(slot)" }

    static func < (a: ReplicaKey, b: ReplicaKey) -> Bool {
        (a.service, a.slot) < (b.service, b.slot)
    }
}

/// The supervisor's view of one replica.
struct ReplicaRecord: Sendable {
    enum State: String, Sendable {
        case created, running, exited, stopping, stopped
    }

    enum Health: String, Sendable {
        /// No healthcheck configured.
        case none
        case starting, healthy, unhealthy
    }

    let key: ReplicaKey
    let port: Int?
    let log: ReplicaLog
    var process: ChildProcess?
    /// Increments at every start; events from an older process are ignored.
    var generation = 0
    var state: State = .created
    var health: Health = .none
    var failingStreak = 0
    var lastProbeOutput = ""
    var startedAt: ContinuousClock.Instant?
    var startedWall: Date?
    var everHealthy = false
    var restarts = 0
    var restartTimes: [ContinuousClock.Instant] = []
    var lastExit: ExitStatus?
    var healthTask: Task<Void, Never>?

    /// Ready to receive traffic: running and healthy (or running without a healthcheck).
    var isReady: Bool { state == .running && (health == .healthy || health == .none) }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("service", .string(key.service)),
            ("slot", .int(Int64(key.slot))),
            ("pid", process.map { .int(Int64($0.pid)) } ?? .null),
            ("port", port.map { .int(Int64($0)) } ?? .null),
            ("address", port.map { .string("127.0.0.1:\($0)") } ?? .string("")),
            ("state", .string(state.rawValue)),
            ("health", .string(health.rawValue)),
            ("ready", .bool(isReady)),
            ("restarts", .int(Int64(restarts))),
            ("started_at", startedWall.map { .double($0.timeIntervalSince1970) } ?? .null),
            ("log", .string(log.path)),
        ]
        if let lastExit { members.append(("last_exit", .string(lastExit.description))) }
        if !lastProbeOutput.isEmpty { members.append(("last_probe", .string(lastProbeOutput))) }
        return .object(members)
    }
}

/// Why the stack could not start or was stopped.
struct StackError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
