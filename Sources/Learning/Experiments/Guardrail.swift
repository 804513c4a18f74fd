import Foundation

/// Decides an experiment from its two arms: revert the candidate as soon as its latency or error rate
/// is worse than the control's beyond a threshold with significance, promote it once both arms have
/// ``promoteAfter`` calls and it is not worse. Every experiment is decided by ``promoteAfter`` calls
/// per arm: a candidate that is still worse in its point estimates then is reverted.
///
/// Worse latency: `candidate > control × (1 + maxLatencyIncrease)` with the difference more than
/// ``confidence`` standard errors; worse errors: `candidate > control + maxErrorIncrease`, likewise.
public struct Guardrail: Sendable, Equatable {
    /// Largest accepted relative increase of the mean latency (0.2: 20 % slower).
    public var maxLatencyIncrease: Double
    /// Largest accepted absolute increase of the error rate (0.02: two points).
    public var maxErrorIncrease: Double
    /// Calls each arm needs before anything is decided.
    public var minEvents: Int
    /// Calls each arm needs before the candidate is promoted.
    public var promoteAfter: Int
    /// Standard errors by which a difference must exceed its threshold to revert.
    public var confidence: Double

    public init(maxLatencyIncrease: Double = 0.2, maxErrorIncrease: Double = 0.02, minEvents: Int = 100, promoteAfter: Int = 1000, confidence: Double = 2.5) {
        self.maxLatencyIncrease = maxLatencyIncrease
        self.maxErrorIncrease = maxErrorIncrease
        self.minEvents = minEvents
        self.promoteAfter = promoteAfter
        self.confidence = confidence
    }

    /// What to do with an experiment.
    public enum Verdict: Sendable, Equatable {
        /// Too few calls in an arm to decide.
        case collecting
        /// Enough calls to judge, not enough to promote; nothing is worse.
        case holding
        case revert(reason: String)
        case promote(reason: String)
    }

    /// A problem with the thresholds, naming the field.
    public var problem: String? {
        if !(maxLatencyIncrease.isFinite && maxLatencyIncrease >= 0) { return "max_latency_increase must be a number ≥ 0" }
        if !(maxErrorIncrease.isFinite && maxErrorIncrease >= 0 && maxErrorIncrease <= 1) { return "max_error_increase must be a number in 0...1" }
        if minEvents < 1 { return "min_events must be an integer ≥ 1" }
        if promoteAfter < minEvents { return "promote_after must be an integer ≥ min_events (\(minEvents))" }
        if !(confidence.isFinite && confidence >= 0) { return "confidence must be a number ≥ 0" }
        return nil
    }

    public func verdict(control: ArmEstimate, candidate: ArmEstimate) -> Verdict {
        let calls = min(control.events, candidate.events)
        guard calls >= minEvents else { return .collecting }
        let latencyLimit = control.latencyMean * (1 + maxLatencyIncrease)
        let latencyExcess = candidate.latencyMean - latencyLimit
        let latencyError = (candidate.latencyMeanVariance + (1 + maxLatencyIncrease) * (1 + maxLatencyIncrease) * control.latencyMeanVariance).squareRoot()
        let errorExcess = candidate.errorRate - (control.errorRate + maxErrorIncrease)
        let errorError = (candidate.errorRateVariance + control.errorRateVariance).squareRoot()
        let latencyText = "candidate mean latency \(Self.format(candidate.latencyMean)) vs control \(Self.format(control.latencyMean)) (limit +\(Self.percent(maxLatencyIncrease)))"
        let errorText = "candidate error rate \(Self.percent(candidate.errorRate)) vs control \(Self.percent(control.errorRate)) (limit +\(Self.percent(maxErrorIncrease)))"
        if errorExcess > 0 && errorExcess > confidence * errorError { return .revert(reason: "\(errorText) over \(calls) calls per arm") }
        if latencyExcess > 0 && latencyExcess > confidence * latencyError { return .revert(reason: "\(latencyText) over \(calls) calls per arm") }
        guard calls >= promoteAfter else { return .holding }
        if errorExcess > 0 { return .revert(reason: "\(errorText) after \(calls) calls per arm") }
        if latencyExcess > 0 { return .revert(reason: "\(latencyText) after \(calls) calls per arm") }
        return .promote(reason: "not worse after \(calls) calls per arm: \(latencyText); \(errorText)")
    }

    private static func format(_ value: Double) -> String { String(format: "%.3g", value) }
    private static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
}
