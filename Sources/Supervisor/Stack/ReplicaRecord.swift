import Foundation
import SwitchboardCore

/// Identifies a replica slot: service name and slot (1…n), shown as `service.slot`.
struct ReplicaKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    let service: String
    let slot: Int
    var description: String { "\(service).\(slot)" }

    static func < (a: ReplicaKey, b: ReplicaKey) -> Bool {
        (a.service, a.slot) < (b.service, b.slot)
    }

    /// Parses `service` or `service.slot`.
    static func parse(_ text: String) -> (service: String, slot: Int?) {
        if let dot = text.lastIndex(of: "."), let slot = Int(text[text.index(after: dot)...]), slot > 0 {
            return (String(text[..<dot]), slot)
        }
        return (text, nil)
    }
}

/// One task: a process started for a slot from one definition of its service (Swarm's task).
/// A slot holds one task, two while a start-first update replaces it, and a new task after every restart.
struct ReplicaRecord: Sendable {
    enum State: String, Sendable {
        case running, exited, stopping, stopped
    }

    enum Health: String, Sendable {
        /// No healthcheck configured.
        case none
        case starting, healthy, unhealthy
    }

    /// Whether the supervisor wants the task to run (Swarm's desired state).
    enum Desired: String, Sendable {
        case running, shutdown
    }

    let id: Int
    let key: ReplicaKey
    /// The service definition version the task was created from.
    let specVersion: Int
    let definition: TaskDefinition
    let port: Int?
    let log: ReplicaLog
    var process: ChildProcess?
    var state: State = .running
    var desired: Desired = .running
    var health: Health = .none
    var failingStreak = 0
    var lastProbeOutput = ""
    /// Out of the routing list because it is about to be stopped.
    var draining = false
    var startedAt: ContinuousClock.Instant = .now
    var startedWall = Date()
    /// When the task reached Swarm's RUNNING: healthy, or started when there is no healthcheck.
    var runningAt: ContinuousClock.Instant?
    var lastExit: ExitStatus?
    var oomKilled = false
    var healthTask: Task<Void, Never>?
    var cgroup: ReplicaCgroup?
    /// Every limit of the definition and whether the kernel enforces it for this task.
    var limits: [LimitStatus] = []
    var usage: ResourceUsage?

    init(id: Int, key: ReplicaKey, specVersion: Int, definition: TaskDefinition, port: Int?, log: ReplicaLog) {
        self.id = id
        self.key = key
        self.specVersion = specVersion
        self.definition = definition
        self.port = port
        self.log = log
        health = definition.healthcheck == nil ? .none : .starting
    }

    /// Ready to receive traffic: running, healthy (or without a healthcheck), wanted and not draining.
    var isReady: Bool { state == .running && desired == .running && !draining && (health == .healthy || health == .none) }

    var url: String? { port.map { "http://127.0.0.1:\($0)" } }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("service", .string(key.service)),
            ("slot", .int(Int64(key.slot))),
            ("task", .int(Int64(id))),
            ("spec_version", .int(Int64(specVersion))),
            ("pid", process.map { .int(Int64($0.pid)) } ?? .null),
            ("port", port.map { .int(Int64($0)) } ?? .null),
            ("address", port.map { .string("127.0.0.1:\($0)") } ?? .string("")),
            ("state", .string(draining && state == .running ? "draining" : state.rawValue)),
            ("desired", .string(desired.rawValue)),
            ("health", .string(health.rawValue)),
            ("ready", .bool(isReady)),
            ("started_at", .double(startedWall.timeIntervalSince1970)),
            ("log", .string(log.path)),
            ("limits", .array(limits.map(\.json))),
        ]
        if let usage { members.append(("usage", usage.json)) }
        if let lastExit { members.append(("last_exit", .string(lastExit.description))) }
        if oomKilled { members.append(("oom_killed", .bool(true))) }
        if !lastProbeOutput.isEmpty { members.append(("last_probe", .string(lastProbeOutput))) }
        return .object(members)
    }
}

/// A slot's history across its tasks: the log file, and restarts counted per service version (Swarm
/// resets the count when the service's spec version changes).
struct SlotHistory: Sendable {
    let log: ReplicaLog
    var specVersion: Int
    var restarts = 0
    var restartTimes: [ContinuousClock.Instant] = []
}

/// Why the stack could not start, or why a request to it failed.
struct StackError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
