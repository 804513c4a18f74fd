import Foundation
import SwitchboardCore

/// `x-autoscale` on a service: the settings of a Kubernetes HorizontalPodAutoscaler (autoscaling/v2)
/// for it, with the HPA's defaults, plus per-direction cooldowns.
///
/// ```yaml
/// x-autoscale:
///   min: 1                 # minReplicas (default 1)
///   max: 6                 # maxReplicas (required)
///   cpu: 70%               # average utilisation of the CPU reservation (or limit), or cores: 0.5
///   memory: 80%            # average utilisation of the memory reservation (or limit), or bytes: 256M
///   in_flight: 8           # average in-flight HTTP requests per replica
///   metrics: [{name: queue_depth, target: 10}]   # any gauge the replicas export at /metrics
///   calls_per_replica: 20  # calls per second one replica carries: the learn service's forecast may raise the count
///   sync_period: 15s
///   tolerance: 0.1
///   scale_up:   {stabilization_window: 0s, select_policy: max, policies: [{type: pods, value: 4, period: 15s}, {type: percent, value: 100, period: 15s}], cooldown: 0s}
///   scale_down: {stabilization_window: 5m, select_policy: max, policies: [{type: percent, value: 100, period: 15s}], cooldown: 0s}
/// ```
struct AutoscaleSpec: Sendable, Equatable {
    /// The gauge every service exports for requests being served (`in_flight`).
    static let inFlightMetric = "switchboard_http_requests_in_flight"

    /// What one metric aims for, per replica.
    enum Target: Sendable, Equatable {
        /// Percent of the CPU reservation (else the limit, else one CPU), averaged over ready replicas.
        case cpuUtilization(Double)
        /// Cores, averaged over ready replicas.
        case cpuAverage(Double)
        /// Percent of the memory reservation (else the limit).
        case memoryUtilization(Double)
        /// Bytes, averaged over ready replicas.
        case memoryAverage(Int64)
        /// The average of a gauge scraped from each replica's `/metrics` (summed over its label sets).
        case metric(name: String, average: Double)

        var name: String {
            switch self {
            case .cpuUtilization, .cpuAverage: return "cpu"
            case .memoryUtilization, .memoryAverage: return "memory"
            case .metric(let name, _): return name
            }
        }
    }

    /// HPAScalingPolicy: at most `value` pods, or `value` percent, per `period`.
    struct Policy: Sendable, Equatable {
        enum Kind: String, Sendable {
            case pods, percent
        }
        var kind: Kind
        var value: Int
        var period: Duration
    }

    /// HPAScalingRules for one direction.
    struct Rules: Sendable, Equatable {
        enum Select: String, Sendable {
            case max, min, disabled
        }
        var stabilizationWindow: Duration
        var policies: [Policy]
        var select: Select = .max
        /// The HPA's tolerance on the usage ratio for this direction.
        var tolerance = 0.1
        /// Not in the HPA: after a scale in this direction, no further one in it for this long.
        var cooldown: Duration = .zero
    }

    var minReplicas = 1
    var maxReplicas: Int
    var targets: [Target]
    /// Calls per second one replica carries; when set, the learn service's load forecast (its peak over the
    /// next hour ÷ this) can raise the reactive recommendation.
    var callsPerReplica: Double?
    /// How often the autoscaler runs (the HPA controller's `--horizontal-pod-autoscaler-sync-period`).
    var syncPeriod: Duration = .seconds(15)
    var scaleUp = Rules(
        stabilizationWindow: .zero,
        policies: [Policy(kind: .pods, value: 4, period: .seconds(15)), Policy(kind: .percent, value: 100, period: .seconds(15))]
    )
    var scaleDown = Rules(stabilizationWindow: .seconds(300), policies: [Policy(kind: .percent, value: 100, period: .seconds(15))])

    // MARK: Parsing

    static func parse(_ value: JSONValue, path: String) throws(ComposeError) -> AutoscaleSpec {
        guard case .object(let members) = value else { throw ComposeError(path: path, message: "must be a mapping") }
        let known: Set<String> = ["min", "max", "cpu", "memory", "in_flight", "metrics", "calls_per_replica", "sync_period", "tolerance", "scale_up", "scale_down"]
        for (key, _) in members where !known.contains(key) {
            throw ComposeError(path: "\(path).\(key)", message: "unknown key (expected one of \(known.sorted().joined(separator: ", ")))")
        }
        guard let maximum = value["max"] else { throw ComposeError(path: "\(path).max", message: "missing: the most replicas the autoscaler may run") }
        let maxReplicas = try ComposeLoader.integer(maximum, path: "\(path).max", range: 1...1000)
        let minReplicas = try value["min"].map { v throws(ComposeError) in try ComposeLoader.integer(v, path: "\(path).min", range: 0...1000) } ?? 1
        guard minReplicas <= maxReplicas else { throw ComposeError(path: "\(path).min", message: "must not exceed max (\(maxReplicas))") }
        var targets: [Target] = []
        if let cpu = value["cpu"] {
            let text = try ComposeLoader.string(cpu, path: "\(path).cpu")
            if let percent = Self.percent(text) {
                targets.append(.cpuUtilization(percent))
            } else if let cores = Double(text), cores > 0 {
                targets.append(.cpuAverage(cores))
            } else {
                throw ComposeError(path: "\(path).cpu", message: "'\(text)' is neither a utilisation like 70% nor a number of cores like 0.5")
            }
        }
        if let memory = value["memory"] {
            let text = try ComposeLoader.string(memory, path: "\(path).memory")
            if let percent = Self.percent(text) {
                targets.append(.memoryUtilization(percent))
            } else if let bytes = Units.parseByteSize(text), bytes > 0 {
                targets.append(.memoryAverage(bytes))
            } else {
                throw ComposeError(path: "\(path).memory", message: "'\(text)' is neither a utilisation like 80% nor a size like 256M")
            }
        }
        if let inFlight = value["in_flight"] {
            targets.append(.metric(name: inFlightMetric, average: try positiveNumber(inFlight, path: "\(path).in_flight")))
        }
        if let metrics = value["metrics"] {
            guard case .array(let items) = metrics else { throw ComposeError(path: "\(path).metrics", message: "must be a list of {name, target}") }
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).metrics[\(index)]"
                guard let name = item["name"]?.stringValue, name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else {
                    throw ComposeError(path: "\(itemPath).name", message: "missing or not a Prometheus metric name")
                }
                guard let target = item["target"] else { throw ComposeError(path: "\(itemPath).target", message: "missing: the average per replica to aim for") }
                targets.append(.metric(name: name, average: try positiveNumber(target, path: "\(itemPath).target")))
            }
        }
        guard !targets.isEmpty else {
            throw ComposeError(path: path, message: "names no target: set at least one of cpu, memory, in_flight or metrics")
        }
        var spec = AutoscaleSpec(minReplicas: minReplicas, maxReplicas: maxReplicas, targets: targets)
        if let calls = value["calls_per_replica"] { spec.callsPerReplica = try positiveNumber(calls, path: "\(path).calls_per_replica") }
        if let period = value["sync_period"] {
            let parsed = try ComposeLoader.duration(period, path: "\(path).sync_period")
            guard parsed > .zero else { throw ComposeError(path: "\(path).sync_period", message: "must be greater than 0") }
            spec.syncPeriod = parsed
        }
        if let tolerance = value["tolerance"] {
            let parsed = try fraction(tolerance, path: "\(path).tolerance")
            spec.scaleUp.tolerance = parsed
            spec.scaleDown.tolerance = parsed
        }
        if let up = value["scale_up"] { spec.scaleUp = try rules(up, defaults: spec.scaleUp, path: "\(path).scale_up") }
        if let down = value["scale_down"] { spec.scaleDown = try rules(down, defaults: spec.scaleDown, path: "\(path).scale_down") }
        return spec
    }

    private static func rules(_ value: JSONValue, defaults: Rules, path: String) throws(ComposeError) -> Rules {
        guard case .object(let members) = value else { throw ComposeError(path: path, message: "must be a mapping") }
        let known: Set<String> = ["stabilization_window", "select_policy", "policies", "tolerance", "cooldown"]
        for (key, _) in members where !known.contains(key) {
            throw ComposeError(path: "\(path).\(key)", message: "unknown key (expected one of \(known.sorted().joined(separator: ", ")))")
        }
        var rules = defaults
        if let window = value["stabilization_window"] {
            let parsed = try ComposeLoader.duration(window, path: "\(path).stabilization_window")
            guard parsed <= .seconds(3600) else { throw ComposeError(path: "\(path).stabilization_window", message: "must be at most 1h (as in the HPA)") }
            rules.stabilizationWindow = parsed
        }
        if let select = value["select_policy"] {
            let text = try ComposeLoader.string(select, path: "\(path).select_policy").lowercased()
            guard let parsed = Rules.Select(rawValue: text) else { throw ComposeError(path: "\(path).select_policy", message: "'\(text)' is not one of max, min, disabled") }
            rules.select = parsed
        }
        if let tolerance = value["tolerance"] { rules.tolerance = try fraction(tolerance, path: "\(path).tolerance") }
        if let cooldown = value["cooldown"] { rules.cooldown = try ComposeLoader.duration(cooldown, path: "\(path).cooldown") }
        if let policies = value["policies"] {
            guard case .array(let items) = policies, !items.isEmpty else { throw ComposeError(path: "\(path).policies", message: "must be a non-empty list") }
            rules.policies = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).policies[\(index)]"
                let kindText = try item["type"].map { v throws(ComposeError) in try ComposeLoader.string(v, path: "\(itemPath).type") }?.lowercased() ?? ""
                guard let kind = Policy.Kind(rawValue: kindText) else { throw ComposeError(path: "\(itemPath).type", message: "missing or not one of pods, percent") }
                guard let amount = item["value"] else { throw ComposeError(path: "\(itemPath).value", message: "missing") }
                guard let periodValue = item["period"] else { throw ComposeError(path: "\(itemPath).period", message: "missing") }
                let period = try ComposeLoader.duration(periodValue, path: "\(itemPath).period")
                guard period > .zero, period <= .seconds(1800) else { throw ComposeError(path: "\(itemPath).period", message: "must be more than 0 and at most 30m (as in the HPA)") }
                rules.policies.append(Policy(kind: kind, value: try ComposeLoader.integer(amount, path: "\(itemPath).value", range: 1...100_000), period: period))
            }
        }
        return rules
    }

    /// `70%` → 70.
    private static func percent(_ text: String) -> Double? {
        guard text.hasSuffix("%"), let number = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), number > 0 else { return nil }
        return number
    }

    private static func positiveNumber(_ value: JSONValue, path: String) throws(ComposeError) -> Double {
        guard let number = value.doubleValue ?? value.stringValue.flatMap(Double.init), number > 0 else {
            throw ComposeError(path: path, message: "expected a number greater than 0")
        }
        return number
    }

    private static func fraction(_ value: JSONValue, path: String) throws(ComposeError) -> Double {
        guard let number = value.doubleValue ?? value.stringValue.flatMap(Double.init), number >= 0, number < 1 else {
            throw ComposeError(path: path, message: "expected a fraction from 0 to below 1, such as 0.1")
        }
        return number
    }
}
