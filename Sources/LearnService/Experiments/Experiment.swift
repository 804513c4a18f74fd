import Learning
import SwitchboardCore

/// One policy experiment: a candidate policy (routing weights and cache TTLs, from a kept model version
/// or given outright) compared with the published policy (the control) under a ``Guardrail``.
///
/// - `shadow`: nothing changes for callers; the candidate's routing is judged on the same calls by
///   re-weighting what each replica measured (``ArmEstimate/reweighted``) against the control's weights.
/// - `canary`: the policy carries the candidate with a `share`; the gateway serves that share of calls
///   with it and tags every call's telemetry with its arm, and each arm is judged on its own calls.
struct Experiment: Sendable {
    enum Mode: String, Sendable {
        case shadow, canary
    }

    enum Status: String, Sendable {
        case running, promoted, reverted, stopped
    }

    /// What the candidate is: a kept model version's policy, or explicit routing weights and TTLs
    /// laid over the policy published when the experiment started.
    enum Source: Sendable, Equatable {
        case modelVersion(Int)
        case overrides
    }

    let id: String
    let mode: Mode
    /// Share of calls served by the candidate (canary; 0 in shadow).
    let share: Double
    let source: Source
    /// The candidate's routing weight per replica and cache TTL (seconds) per tool.
    let routing: [String: Double]
    let cache: [String: Double]
    /// Routing weights and TTLs given in the request (what an `overrides` candidate pins on promotion).
    let requestedRouting: [String: Double]
    let requestedCache: [String: Double]
    let guardrail: Guardrail
    /// Promote automatically once the guardrail allows it (reverting is always automatic).
    let autoPromote: Bool
    let startedAt: Double
    var status = Status.running
    var reason: String?
    var endedAt: Double?
    /// Canary: the calls each arm served.
    var control = ArmStatistics()
    var candidate = ArmStatistics()
    /// Shadow: the calls each replica served, and the control's weights last seen.
    var replicas: [String: ArmStatistics] = [:]
    var controlWeights: [String: Double] = [:]

    /// The two arms as the guardrail compares them (nil while a shadow estimate has nothing to rest on).
    var estimates: (control: ArmEstimate, candidate: ArmEstimate)? {
        switch mode {
        case .canary:
            return (control.estimate, candidate.estimate)
        case .shadow:
            guard let control = ArmEstimate.reweighted(replicas, weights: controlWeights),
                let candidate = ArmEstimate.reweighted(replicas, weights: routing)
            else { return nil }
            return (control, candidate)
        }
    }

    /// Counts one call; true when it was attributed to an arm.
    mutating func observe(_ event: CallEvent) -> Bool {
        guard event.outcome != .denied && event.outcome != .limited && event.outcome != .cancelled else { return false }
        let failed = event.outcome == .error
        switch mode {
        case .canary:
            guard let arm = event.arm, arm.experiment == id else { return false }
            if arm.candidate {
                candidate.observe(latency: event.latencyMilliseconds, failed: failed)
            } else {
                control.observe(latency: event.latencyMilliseconds, failed: failed)
            }
        case .shadow:
            guard !event.cacheHit, !event.backend.isEmpty, replicas[event.backend] != nil || replicas.count < 1024 else { return false }
            replicas[event.backend, default: ArmStatistics()].observe(latency: event.latencyMilliseconds, failed: failed)
        }
        return true
    }

    /// The member the published policy carries while a canary runs: what the gateway needs to serve
    /// the candidate's share.
    var policyMember: JSONValue {
        var member: [(key: String, value: JSONValue)] = [("id", .string(id)), ("share", .double(share))]
        if case .modelVersion(let version) = source { member.append(("candidate_version", .int(Int64(version)))) }
        member.append(("routing", .object(routing.keys.sorted().map { ($0, ["weight": .double(routing[$0]!)]) })))
        member.append(("cache", .object(cache.keys.sorted().map { ($0, ["ttl_seconds": .double(cache[$0]!)]) })))
        return .object(member)
    }

    /// The experiment for `GET /v1/experiments`.
    var json: JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("mode", .string(mode.rawValue)), ("share", .double(share)), ("status", .string(status.rawValue)),
            ("reason", reason.map { .string($0) } ?? .null), ("started_at", .double(startedAt)), ("ended_at", endedAt.map { .double($0) } ?? .null),
        ]
        switch source {
        case .modelVersion(let version): fields.append(("candidate", ["model_version": .int(Int64(version))]))
        case .overrides:
            fields.append((
                "candidate",
                [
                    "routing": .object(requestedRouting.keys.sorted().map { ($0, .double(requestedRouting[$0]!)) }),
                    "cache": .object(requestedCache.keys.sorted().map { ($0, .double(requestedCache[$0]!)) }),
                ]
            ))
        }
        fields.append((
            "guardrail",
            [
                "max_latency_increase": .double(guardrail.maxLatencyIncrease), "max_error_increase": .double(guardrail.maxErrorIncrease),
                "min_events": .int(Int64(guardrail.minEvents)), "promote_after": .int(Int64(guardrail.promoteAfter)),
                "confidence": .double(guardrail.confidence), "auto_promote": .bool(autoPromote),
            ]
        ))
        let arms = estimates
        fields.append(("control", arms.map { Self.json($0.control) } ?? .null))
        fields.append(("candidate_arm", arms.map { Self.json($0.candidate) } ?? .null))
        return .object(fields)
    }

    private static func json(_ estimate: ArmEstimate) -> JSONValue {
        [
            "events": .int(Int64(estimate.events)), "latency_ms": .double(PolicyDocument.rounded(estimate.latencyMean)),
            "error_rate": .double(PolicyDocument.rounded(estimate.errorRate)),
        ]
    }
}
