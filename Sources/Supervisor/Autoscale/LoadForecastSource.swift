import SwitchboardCore

/// The load a service is expected to carry soon, in the units of one of its `x-autoscale` targets.
struct LoadForecast: Sendable, Equatable {
    /// The target's metric name: `cpu` (cores), `memory` (bytes) or a gauge name such as
    /// `switchboard_http_requests_in_flight`.
    let metric: String
    /// The service's total expected over its replicas, e.g. 24 requests in flight or 3.5 cores.
    let total: Double
    /// How far ahead the forecast looks.
    let horizon: Duration
}

/// A source of load forecasts the autoscaler adds to its reactive recommendation: the seam for the learn
/// service's forecasts. A forecast can only raise the recommendation (as AWS predictive scaling, it
/// never scales in); stabilization, rate limits, min/max and cooldowns still apply.
protocol LoadForecastSource: Sendable {
    /// The forecast for a service, or nil when there is none.
    func forecast(service: String, targets: [AutoscaleSpec.Target]) async -> LoadForecast?
}

/// No forecasts: the autoscaler is purely reactive.
struct NoLoadForecast: LoadForecastSource {
    func forecast(service: String, targets: [AutoscaleSpec.Target]) async -> LoadForecast? { nil }
}

extension LoadForecast {
    /// Replicas needed to carry the forecast at the target's per-replica goal (nil when no target matches).
    func replicas(for targets: [AutoscaleSpec.Target], capacity: Double) -> Int? {
        guard let target = targets.first(where: { $0.name == metric }) else { return nil }
        let perReplica: Double
        switch target {
        case .cpuUtilization(let percent), .memoryUtilization(let percent): perReplica = capacity * percent / 100
        case .cpuAverage(let cores): perReplica = cores
        case .memoryAverage(let bytes): perReplica = Double(bytes)
        case .metric(_, let average): perReplica = average
        }
        guard perReplica > 0, total >= 0 else { return nil }
        return Int((total / perReplica).rounded(.up))
    }
}
