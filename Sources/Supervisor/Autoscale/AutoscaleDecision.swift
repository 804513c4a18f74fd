import Foundation
import SwitchboardCore

/// What one evaluation decided, for the log, `/v1/autoscale` and metrics.
struct AutoscaleDecision: Sendable {
    struct MetricOutcome: Sendable {
        let metric: String
        /// Average value (or utilisation in percent) over the replicas that reported one.
        let current: Double?
        let target: Double
        /// usage ÷ target; nil when no replica reported.
        let ratio: Double?
        /// Replicas this metric asks for; nil when it gave no answer.
        let proposal: Int?
    }

    let at: Date
    let current: Int
    /// The largest metric proposal (or the forecast's replicas, when more), before stabilization and rate limits.
    let recommendation: Int?
    /// Replicas the load forecast asks for (its peak ÷ `calls_per_replica`).
    let forecast: Int?
    let desired: Int
    let reason: String
    let metrics: [MetricOutcome]
    /// Why no forecast was used although `calls_per_replica` asks for one: the decision is reactive only.
    var forecastUnavailable: String? = nil

    var outcome: String { desired > current ? "scale_up" : desired < current ? "scale_down" : "none" }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("at", .double(at.timeIntervalSince1970)), ("current", .int(Int64(current))), ("desired", .int(Int64(desired))),
            ("outcome", .string(outcome)), ("reason", .string(reason)),
        ]
        if let recommendation { members.append(("recommendation", .int(Int64(recommendation)))) }
        if let forecast { members.append(("forecast", .int(Int64(forecast)))) }
        if let forecastUnavailable { members.append(("forecast_unavailable", .string(forecastUnavailable))) }
        members.append(("metrics", .array(metrics.map { metric in
            var item: [(key: String, value: JSONValue)] = [("metric", .string(metric.metric)), ("target", .double(metric.target))]
            if let current = metric.current { item.append(("current", .double((current * 1000).rounded() / 1000))) }
            if let ratio = metric.ratio { item.append(("ratio", .double((ratio * 1000).rounded() / 1000))) }
            if let proposal = metric.proposal { item.append(("proposal", .int(Int64(proposal)))) }
            return .object(item)
        })))
        return .object(members)
    }

    var summary: String {
        let parts = metrics.map { metric in
            "\(metric.metric) \(metric.current.map { ResourceLimits.trim($0) } ?? "?")/\(ResourceLimits.trim(metric.target))"
                + (metric.proposal.map { " → \($0)" } ?? "")
        }
        return "\(current) → \(desired) (\(reason))\(parts.isEmpty ? "" : "; " + parts.joined(separator: ", "))\(forecast.map { "; forecast \($0)" } ?? "")"
            + (forecastUnavailable.map { "; reactive only: \($0)" } ?? "")
    }
}
