import SwitchboardCore

/// The calls a service is expected to carry soon: the learn service's `*` forecast.
struct LoadForecast: Sendable, Equatable {
    /// Why there is no forecast, shown with a decision that fell back to reactive scaling.
    struct Unavailable: Error, Sendable, Equatable {
        let reason: String
    }

    /// Calls per second expected in the next forecast bucket.
    let callsPerSecond: Double
    /// The most calls per second expected in any bucket of the next hour.
    let peakCallsPerSecond: Double
    /// The policy version the forecast came from.
    let policyVersion: Int?

    /// Replicas needed to carry the hour's peak at `callsPerReplica` calls per second each.
    func replicas(callsPerReplica: Double) -> Int {
        guard callsPerReplica > 0, peakCallsPerSecond > 0 else { return 0 }
        return Int((peakCallsPerSecond / callsPerReplica).rounded(.up))
    }
}

/// A source of load forecasts for services whose `x-autoscale` sets `calls_per_replica`. A forecast can
/// only raise the reactive recommendation (as AWS predictive scaling, it never scales in); stabilization,
/// rate limits, min/max and cooldowns still apply.
protocol LoadForecastSource: Sendable {
    /// The forecast for a service, or why there is none (the autoscaler then stays reactive).
    func forecast(service: String) async -> Result<LoadForecast, LoadForecast.Unavailable>
}

/// No forecasts: the stack runs no learn service, so the autoscaler is purely reactive.
struct NoLoadForecast: LoadForecastSource {
    func forecast(service: String) async -> Result<LoadForecast, LoadForecast.Unavailable> {
        .failure(.init(reason: "no service in the stack runs LearnService"))
    }
}
