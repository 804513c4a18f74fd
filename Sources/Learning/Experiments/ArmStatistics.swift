/// Latency and error figures of the calls attributed to one arm of an experiment (or to one replica):
/// count, error count, and the latency's running mean and variance (Welford). Constant memory.
public struct ArmStatistics: Sendable, Equatable {
    public private(set) var events = 0
    public private(set) var errors = 0
    public private(set) var latencyMean = 0.0
    private var latencySquares = 0.0

    public init() {}

    /// Counts one call.
    public mutating func observe(latency: Double, failed: Bool) {
        events += 1
        if failed { errors += 1 }
        let delta = latency - latencyMean
        latencyMean += delta / Double(events)
        latencySquares += delta * (latency - latencyMean)
    }

    public var errorRate: Double { events == 0 ? 0 : Double(errors) / Double(events) }

    /// Sample variance of the latency (0 below two calls).
    public var latencyVariance: Double { events < 2 ? 0 : latencySquares / Double(events - 1) }

    /// The figures as an estimate of the arm's mean latency and error rate.
    public var estimate: ArmEstimate {
        let count = Double(max(1, events))
        return ArmEstimate(
            events: events, latencyMean: latencyMean, latencyMeanVariance: latencyVariance / count, errorRate: errorRate,
            errorRateVariance: errorRate * (1 - errorRate) / count
        )
    }
}

/// An arm's mean latency and error rate with the variances of those means: measured directly (a
/// canary's own calls) or estimated from other calls (a shadow candidate, ``ArmEstimate/reweighted``).
public struct ArmEstimate: Sendable, Equatable {
    public var events: Int
    public var latencyMean: Double
    public var latencyMeanVariance: Double
    public var errorRate: Double
    public var errorRateVariance: Double

    public init(events: Int, latencyMean: Double, latencyMeanVariance: Double, errorRate: Double, errorRateVariance: Double) {
        self.events = events
        self.latencyMean = latencyMean
        self.latencyMeanVariance = latencyMeanVariance
        self.errorRate = errorRate
        self.errorRateVariance = errorRateVariance
    }

    /// What routing by `weights` would have given, estimated from the calls each replica served
    /// (`replicas`): the weight-mixed means of the replicas that served calls, with the variance of that
    /// mix. Weights of replicas without calls are left out (nothing is known of them); nil when no
    /// weighted replica served a call. `events` is the number of calls the estimate rests on.
    public static func reweighted(_ replicas: [String: ArmStatistics], weights: [String: Double]) -> ArmEstimate? {
        let served = weights.filter { $0.value > 0 && (replicas[$0.key]?.events ?? 0) > 0 }
        let total = served.values.reduce(0, +)
        guard total > 0 else { return nil }
        var estimate = ArmEstimate(events: 0, latencyMean: 0, latencyMeanVariance: 0, errorRate: 0, errorRateVariance: 0)
        for (replica, weight) in served {
            let share = weight / total
            let measured = replicas[replica]!.estimate
            estimate.events += measured.events
            estimate.latencyMean += share * measured.latencyMean
            estimate.latencyMeanVariance += share * share * measured.latencyMeanVariance
            estimate.errorRate += share * measured.errorRate
            estimate.errorRateVariance += share * share * measured.errorRateVariance
        }
        return estimate
    }
}
