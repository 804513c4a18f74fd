/// One target's readings at one evaluation.
struct MetricReading: Sendable {
    let target: AutoscaleSpec.Target
    /// Ready replicas: their value (nil when a replica gave none) and the capacity the target is relative
    /// to (cores or bytes of the request for a utilisation target, 1 for an average target).
    var ready: [(value: Double?, capacity: Double)]
    /// Capacities of replicas that are wanted but not ready (starting or unhealthy).
    var unready: [Double]

    /// The target per unit of capacity: a utilisation as a fraction, or the average value.
    var goal: Double {
        switch target {
        case .cpuUtilization(let percent), .memoryUtilization(let percent): return percent / 100
        case .cpuAverage(let cores): return cores
        case .memoryAverage(let bytes): return Double(bytes)
        case .metric(_, let average): return average
        }
    }
}
