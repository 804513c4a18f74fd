import SwitchboardCore

/// Whether one of a replica's limits is enforced, and how (or why not).
struct LimitStatus: Sendable, Equatable {
    /// `cpus`, `memory`, `swap`, `memory reservation`, `pids` or `cpu reservation`.
    let limit: String
    let value: String
    let enforced: Bool
    /// The cgroup files written, or the reason it is not enforced.
    let detail: String

    var json: JSONValue {
        ["limit": .string(limit), "value": .string(value), "enforced": .bool(enforced), "detail": .string(detail)]
    }
}
