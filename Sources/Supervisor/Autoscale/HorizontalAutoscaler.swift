import Foundation
import SwitchboardCore

/// The Kubernetes HorizontalPodAutoscaler for one service (`pkg/controller/podautoscaler`): the replica
/// calculation with tolerance and missing/unready replicas (`replica_calculator.go`), the largest proposal
/// over the metrics, stabilization windows and scaling policies (`horizontal.go`
/// `normalizeDesiredReplicasWithBehaviors`), plus per-direction cooldowns. Time is passed in, so it is
/// deterministic.
struct HorizontalAutoscaler: Sendable {
    let spec: AutoscaleSpec
    private(set) var recommendations: [(at: ContinuousClock.Instant, replicas: Int)] = []
    private(set) var scaleUpEvents: [(at: ContinuousClock.Instant, change: Int)] = []
    private(set) var scaleDownEvents: [(at: ContinuousClock.Instant, change: Int)] = []
    private(set) var lastScaleUp: ContinuousClock.Instant?
    private(set) var lastScaleDown: ContinuousClock.Instant?
    /// The latest decisions, newest last.
    private(set) var decisions: [AutoscaleDecision] = []

    init(spec: AutoscaleSpec) {
        self.spec = spec
    }

    /// One evaluation (`reconcileAutoscaler`): the replicas the service should have now. `forecast` is the
    /// replicas the load forecast asks for; it raises the metrics' recommendation, never lowers it, and
    /// the reason names it when it drove the number. `forecastUnavailable` says why a wanted forecast is missing.
    mutating func evaluate(
        now: ContinuousClock.Instant, current: Int, readings: [MetricReading], forecast: Int? = nil, forecastUnavailable: String? = nil
    ) -> AutoscaleDecision {
        var decision: AutoscaleDecision
        if current == 0 && spec.minReplicas != 0 {
            decision = AutoscaleDecision(at: Date(), current: current, recommendation: nil, forecast: nil, desired: 0, reason: "scaled to zero: autoscaling is off", metrics: [])
        } else if current > spec.maxReplicas {
            decision = AutoscaleDecision(at: Date(), current: current, recommendation: nil, forecast: nil, desired: spec.maxReplicas, reason: "above max", metrics: [])
        } else if current < spec.minReplicas {
            decision = AutoscaleDecision(at: Date(), current: current, recommendation: nil, forecast: nil, desired: spec.minReplicas, reason: "below min", metrics: [])
        } else {
            let outcomes = readings.map { Self.outcome(of: $0, current: current, tolerances: (spec.scaleUp.tolerance, spec.scaleDown.tolerance)) }
            let proposals = outcomes.compactMap(\.proposal)
            let invalid = outcomes.count - proposals.count
            let metricProposal = proposals.max()
            if metricProposal == nil || (invalid > 0 && metricProposal! < current) {
                decision = AutoscaleDecision(
                    at: Date(), current: current, recommendation: metricProposal, forecast: forecast, desired: current,
                    reason: invalid == outcomes.count ? "no metrics from any ready replica" : "some metrics are missing, so no scale-down", metrics: outcomes
                )
            } else {
                let reactive = metricProposal!
                let recommendation = max(reactive, forecast ?? 0)
                let stabilized = stabilize(recommendation, current: current, now: now)
                var (desired, reason) = limitRate(stabilized, current: current, now: now)
                if stabilized != recommendation && desired == stabilized { reason = stabilized < recommendation ? "scale-up stabilized" : "scale-down stabilized" }
                if desired > current, let last = lastScaleUp, now - last < spec.scaleUp.cooldown {
                    (desired, reason) = (current, "scale-up cooldown")
                } else if desired < current, let last = lastScaleDown, now - last < spec.scaleDown.cooldown {
                    (desired, reason) = (current, "scale-down cooldown")
                }
                if recommendation > reactive {
                    let drove = "forecast \(recommendation) above metrics \(reactive)"
                    reason = desired == recommendation ? drove : "\(drove), \(reason)"
                }
                decision = AutoscaleDecision(at: Date(), current: current, recommendation: recommendation, forecast: forecast, desired: desired, reason: reason, metrics: outcomes)
            }
        }
        decision.forecastUnavailable = forecastUnavailable
        decisions.append(decision)
        if decisions.count > 50 { decisions.removeFirst(decisions.count - 50) }
        return decision
    }

    /// Records a scale the service went through (`storeScaleEvent`), for rate limits and cooldowns.
    mutating func recordScale(from old: Int, to new: Int, at now: ContinuousClock.Instant) {
        let longest = (spec.scaleUp.policies + spec.scaleDown.policies).map(\.period).max() ?? .zero
        scaleUpEvents.removeAll { now - $0.at > longest }
        scaleDownEvents.removeAll { now - $0.at > longest }
        if new > old {
            scaleUpEvents.append((now, new - old))
            lastScaleUp = now
        } else if new < old {
            scaleDownEvents.append((now, old - new))
            lastScaleDown = now
        }
    }

    // MARK: The replica calculation

    /// `GetResourceReplicas` (utilisation of the request) and `calcPlainMetricReplicas` (average value)
    /// for one target, in the HPA's integer units: milli-units for CPU and gauges, bytes for memory;
    /// utilisation is a whole percent and the average is an integer, as the HPA computes them.
    static func outcome(of reading: MetricReading, current: Int, tolerances: (up: Double, down: Double)) -> AutoscaleDecision.MetricOutcome {
        let unit: Double
        let utilisation: Int64?
        switch reading.target {
        case .cpuUtilization(let percent): (unit, utilisation) = (1000, Int64(percent))
        case .memoryUtilization(let percent): (unit, utilisation) = (1, Int64(percent))
        case .memoryAverage: (unit, utilisation) = (1, nil)
        case .cpuAverage, .metric: (unit, utilisation) = (1000, nil)
        }
        let name = reading.target.name
        let target = utilisation.map(Double.init) ?? reading.goal
        let goal = Int64((reading.goal * unit).rounded())
        var values: [Int64] = []
        var requests: [Int64] = []
        var missing: [Int64] = []
        for replica in reading.ready {
            let request = Int64((replica.capacity * unit).rounded())
            if let value = replica.value {
                values.append(Int64((value * unit).rounded()))
                requests.append(request)
            } else {
                missing.append(request)
            }
        }
        guard !values.isEmpty, goal > 0 || utilisation != nil else {
            return .init(metric: name, current: nil, target: target, ratio: nil, proposal: nil)
        }
        /// The usage ratio and what is shown as the current value (utilisation in percent, or the average).
        func ratio(_ values: [Int64], _ requests: [Int64]) -> (ratio: Double, shown: Double)? {
            if let utilisation {
                let total = requests.reduce(0, +)
                guard total > 0, utilisation > 0 else { return nil }
                let current = values.reduce(0, +) * 100 / total
                return (Double(current) / Double(utilisation), Double(current))
            }
            let average = values.reduce(0, +) / Int64(values.count)
            return (Double(average) / Double(goal), Double(average) / unit)
        }
        func within(_ ratio: Double) -> Bool { (1 - tolerances.down) <= ratio && ratio <= (1 + tolerances.up) }
        guard let (usageRatio, shown) = ratio(values, requests) else {
            return .init(metric: name, current: nil, target: target, ratio: nil, proposal: nil)
        }
        let answer = { (proposal: Int) in AutoscaleDecision.MetricOutcome(metric: name, current: shown, target: target, ratio: usageRatio, proposal: proposal) }
        let scaleUpWithUnready = !reading.unready.isEmpty && usageRatio > 1
        if !scaleUpWithUnready && missing.isEmpty {
            return answer(within(usageRatio) ? current : Int((usageRatio * Double(values.count)).rounded(.up)))
        }
        // A replica without a value counts as at the target (a utilisation: max(100 %, target) of its request)
        // on a scale-down and as 0 on a scale-up; unready replicas count as 0 on a scale-up.
        for request in missing {
            if usageRatio < 1 {
                values.append(utilisation.map { request * max(100, $0) / 100 } ?? goal)
                requests.append(request)
            } else if usageRatio > 1 || utilisation == nil {
                values.append(0)
                requests.append(request)
            }
        }
        if scaleUpWithUnready {
            for capacity in reading.unready {
                values.append(0)
                requests.append(Int64((capacity * unit).rounded()))
            }
        }
        guard let (newRatio, _) = ratio(values, requests) else { return answer(current) }
        if within(newRatio) || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1) {
            return answer(current)
        }
        let proposal = Int((newRatio * Double(values.count)).rounded(.up))
        if (newRatio < 1 && proposal > current) || (newRatio > 1 && proposal < current) {
            return answer(current)
        }
        return answer(proposal)
    }

    // MARK: Behaviors

    /// `stabilizeRecommendationWithBehaviors`: the lowest recommendation of the scale-up window bounds a
    /// scale-up, the highest of the scale-down window bounds a scale-down.
    private mutating func stabilize(_ recommendation: Int, current: Int, now: ContinuousClock.Instant) -> Int {
        let upCutoff = now - spec.scaleUp.stabilizationWindow
        let downCutoff = now - spec.scaleDown.stabilizationWindow
        var up = recommendation
        var down = recommendation
        var oldIndex: Int?
        for (index, entry) in recommendations.enumerated() {
            if entry.at > upCutoff { up = min(up, entry.replicas) }
            if entry.at > downCutoff { down = max(down, entry.replicas) }
            if entry.at < upCutoff && entry.at < downCutoff { oldIndex = index }
        }
        var stabilized = current
        if stabilized < up { stabilized = up }
        if stabilized > down { stabilized = down }
        if let oldIndex {
            recommendations[oldIndex] = (now, recommendation)
        } else {
            recommendations.append((now, recommendation))
        }
        return stabilized
    }

    /// `convertDesiredReplicasWithBehaviorRate`: the scaling policies and min/max.
    private func limitRate(_ desired: Int, current: Int, now: ContinuousClock.Instant) -> (Int, String) {
        if desired > current {
            var limit = Self.scaleUpLimit(current: current, up: changes(scaleUpEvents, now: now), down: changes(scaleDownEvents, now: now), rules: spec.scaleUp)
            if limit < current { limit = current }
            var (maximum, reason) = (spec.maxReplicas, "at max replicas")
            if maximum > limit { (maximum, reason) = (limit, "scale-up rate limit") }
            if desired > maximum { return (maximum, reason) }
        } else if desired < current {
            var limit = Self.scaleDownLimit(current: current, up: changes(scaleUpEvents, now: now), down: changes(scaleDownEvents, now: now), rules: spec.scaleDown)
            if limit > current { limit = current }
            var (minimum, reason) = (spec.minReplicas, "at min replicas")
            if minimum < limit { (minimum, reason) = (limit, "scale-down rate limit") }
            if desired < minimum { return (minimum, reason) }
        }
        return (desired, desired == current ? "within tolerance" : "desired within range")
    }

    /// `getReplicasChangePerPeriod` for each policy's period.
    private func changes(_ events: [(at: ContinuousClock.Instant, change: Int)], now: ContinuousClock.Instant) -> (Duration) -> Int {
        { period in events.filter { $0.at > now - period }.reduce(0) { $0 + $1.change } }
    }

    static func scaleUpLimit(current: Int, up: (Duration) -> Int, down: (Duration) -> Int, rules: AutoscaleSpec.Rules) -> Int {
        if rules.select == .disabled { return current }
        var result = rules.select == .min ? Int.max : Int.min
        for policy in rules.policies {
            let periodStart = current - up(policy.period) + down(policy.period)
            let proposed = policy.kind == .pods
                ? periodStart + policy.value
                : Int((Double(periodStart) * (1 + Double(policy.value) / 100)).rounded(.up))
            result = rules.select == .min ? min(result, proposed) : max(result, proposed)
        }
        return result
    }

    static func scaleDownLimit(current: Int, up: (Duration) -> Int, down: (Duration) -> Int, rules: AutoscaleSpec.Rules) -> Int {
        if rules.select == .disabled { return current }
        var result = rules.select == .min ? Int.min : Int.max
        for policy in rules.policies {
            let periodStart = current - up(policy.period) + down(policy.period)
            let proposed = policy.kind == .pods
                ? periodStart - policy.value
                : Int(Double(periodStart) * (1 - Double(policy.value) / 100))
            result = rules.select == .min ? max(result, proposed) : min(result, proposed)
        }
        return result
    }
}
