import Learning
import SwitchboardCore

/// The policy other services consume, built from the learned models (shape documented in
/// docs/operations.md, "Learn service policy").
enum PolicyDocument {
    /// The policy body without its version fields: routing weights per replica, cache TTL and admission
    /// per tool, load forecasts per tool and in total, and cache-warming transitions.
    static func content(_ models: LearnedModels) -> JSONValue {
        let time = models.clock
        let weights = models.routing.weights(at: time)
        let routing: [(key: String, value: JSONValue)] = weights.keys.sorted().map { name in
            let replica = models.routing.replicas[name]!
            return (
                name,
                [
                    "weight": .double(rounded(weights[name]!)), "latency_ms": .double(rounded(replica.meanLatency * 1000)),
                    "error_rate": .double(rounded(replica.errorRate)), "observations": .int(Int64(replica.observations)),
                ]
            )
        }
        let cache: [(key: String, value: JSONValue)] = models.cache.toolNames.compactMap { tool in
            guard let policy = models.cache.policy(for: tool) else { return nil }
            return (
                tool,
                [
                    "ttl_seconds": .double(rounded(policy.ttlSeconds)), "admit_after": .int(Int64(policy.admitAfter)),
                    "reuse": .double(rounded(policy.reuse)), "observations": .int(Int64(policy.observations)),
                ]
            )
        }
        let bucket = models.settings.bucketSeconds
        let hour = max(1, Int((3600 / bucket).rounded(.up)))
        let forecasts: [(key: String, value: JSONValue)] = models.forecasts.keys.sorted().compactMap { name in
            let forecaster = models.forecasts[name]!
            guard let next = forecaster.forecast(1), let peak = forecaster.peak(over: hour) else { return nil }
            return (
                name,
                [
                    "calls_per_second": .double(rounded(max(0, next) / bucket)), "peak_calls_per_second_1h": .double(rounded(max(0, peak) / bucket)),
                    "bucket_seconds": .double(bucket), "model": .string(forecaster.modelDescription),
                ]
            )
        }
        let warm: [JSONValue] = models.patterns.warmingTransitions(limit: 64).map { transition in
            [
                "after_tool": .string(transition.afterTool), "after_key": .string(transition.afterKey), "next_tool": .string(transition.nextTool),
                "next_key": .string(transition.nextKey), "probability": .double(rounded(transition.probability)),
            ]
        }
        return ["routing": .object(routing), "cache": .object(cache), "forecasts": .object(forecasts), "warm": .array(warm)]
    }

    /// The policy body before anything was learned.
    static let empty: JSONValue = ["routing": .object([]), "cache": .object([]), "forecasts": .object([]), "warm": .array([])]

    /// Routing weights and cache TTLs (seconds) that replace learned ones.
    struct Pins: Sendable, Equatable {
        var routing: [String: Double] = [:]
        var cache: [String: Double] = [:]

        init() {}

        /// Reads `{"routing":{name:weight},"cache":{tool:seconds}}`.
        init(json: JSONValue) {
            routing = Self.numbers(json["routing"])
            cache = Self.numbers(json["cache"])
        }

        var json: JSONValue {
            [
                "routing": .object(routing.keys.sorted().map { ($0, .double(routing[$0]!)) }),
                "cache": .object(cache.keys.sorted().map { ($0, .double(cache[$0]!)) }),
            ]
        }

        private static func numbers(_ section: JSONValue?) -> [String: Double] {
            Dictionary((section?.objectValue ?? []).compactMap { name, value in value.doubleValue.map { (name, $0) } }, uniquingKeysWith: { $1 })
        }
    }

    /// `content` with `pins` laid over its routing weights and cache TTLs, and the running canary's
    /// `experiment` member when there is one.
    static func adjusted(_ content: JSONValue, pins: Pins, experiment: JSONValue?) -> JSONValue {
        guard case .object(var members) = content else { return content }
        if pins != Pins() {
            for index in members.indices {
                switch members[index].key {
                case "routing": members[index].value = pinned(members[index].value, pins.routing, field: "weight")
                case "cache": members[index].value = pinned(members[index].value, pins.cache, field: "ttl_seconds")
                default: break
                }
            }
        }
        if let experiment { members.append(("experiment", experiment)) }
        return .object(members)
    }

    /// `section` (name → object) with `field` set to the pinned value for each pinned name.
    private static func pinned(_ section: JSONValue, _ pins: [String: Double], field: String) -> JSONValue {
        guard !pins.isEmpty, case .object(var entries) = section else { return section }
        for (name, value) in pins.sorted(by: { $0.key < $1.key }) {
            if let index = entries.firstIndex(where: { $0.key == name }), case .object(var fields) = entries[index].value {
                if let field = fields.firstIndex(where: { $0.key == field }) { fields[field].value = .double(value) } else { fields.append((field, .double(value))) }
                entries[index].value = .object(fields)
            } else {
                entries.append((name, .object([(field, .double(value))])))
            }
        }
        return .object(entries)
    }

    /// The routing weight per replica in a policy body.
    static func weights(_ content: JSONValue) -> [String: Double] {
        numbers(content["routing"], field: "weight")
    }

    /// The cache TTL (seconds) per tool in a policy body.
    static func ttls(_ content: JSONValue) -> [String: Double] {
        numbers(content["cache"], field: "ttl_seconds")
    }

    private static func numbers(_ section: JSONValue?, field: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for (name, entry) in section?.objectValue ?? [] {
            if let value = entry[field]?.doubleValue { values[name] = value }
        }
        return values
    }

    /// Four significant decimals: enough for weights, and keeps unchanged policies byte-identical.
    static func rounded(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return (value * 10_000).rounded() / 10_000
    }
}
