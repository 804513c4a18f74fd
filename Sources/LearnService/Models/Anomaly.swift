import SwitchboardCore

/// A point where a watched series left what its detector had learned.
struct Anomaly: Sendable, Equatable {
    /// What the series measures.
    enum Measure: String, Sendable {
        case latency
        case errorRate = "error_rate"
        /// Resource series per replica, from ``ResourceSample``s.
        case cpuCores = "cpu_cores"
        case memoryBytes = "memory_bytes"
        case inFlight = "in_flight"
        case queueDepth = "queue_depth"
    }

    /// Increasing from 1 within a process.
    var id: Int
    /// `tool` or `replica`.
    var scope: String
    var subject: String
    var measure: Measure
    /// Event time, seconds since the epoch.
    var timestamp: Double
    var value: Double
    var score: Double

    var json: JSONValue {
        [
            "id": .int(Int64(id)), "scope": .string(scope), "subject": .string(subject), "measure": .string(measure.rawValue),
            "ts": .double(timestamp), "value": .double(value), "score": .double(score),
        ]
    }
}
