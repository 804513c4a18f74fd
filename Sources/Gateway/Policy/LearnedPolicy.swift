import Logging
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Keeps the gateway on the learn service's policy: polls `GET /v1/policy` with `If-None-Match` every
/// `interval`, and hands a changed policy's routing weights to ``ToolBackends``, its cache TTLs and
/// admission thresholds (`admit_after`) to ``ToolResultCache`` and its `warm` transitions to
/// ``PredictiveWarmer``. When the learn service is away the last good policy stays in force; before the
/// first one (or with no learn service configured) routing uses equal weights and the cache its
/// configured TTLs — the safe fallback.
///
/// A policy with an `experiment` member runs a canary: ``drawArm()`` serves that share of calls with
/// the candidate's weights and TTLs and tags every call's telemetry with its arm. A canary is only
/// served while the learn service answers (its guardrail watches it there): a failed poll drops it.
final class LearnedPolicy: Service, Sendable {
    /// A canary experiment's candidate, as the policy's `experiment` member describes it.
    struct Canary: Sendable, Equatable {
        var id: String
        /// Share of calls served by the candidate.
        var share: Double
        var weights: [String: Double]
        var ttls: [String: Duration]
    }

    /// The arm one call is served by: the candidate's weights and TTLs, or nil ones for the control.
    struct Arm: Sendable {
        var arm: CallEvent.ExperimentArm
        var weights: [String: Double]?
        var ttls: [String: Duration]?
    }

    /// What the gateway uses from one policy version.
    struct Snapshot: Sendable, Equatable {
        var version: Int
        /// Routing weight per replica URL.
        var weights: [String: Double]
        /// Cache TTL per tool.
        var ttls: [String: Duration]
        /// Requests for a key before its result is stored, per tool (`cache[tool].admit_after`).
        var admitAfter: [String: Int] = [:]
        /// Next-call transitions between cacheable calls, for predictive warming.
        var warm: [PredictiveWarmer.Transition] = []
        /// The canary experiment in the policy, if one runs.
        var canary: Canary?

        /// Reads the policy document (docs/operations.md, "Policy JSON"); a member that is not the
        /// documented shape is named in the error.
        init(json: JSONValue) throws(ContractError) {
            guard let version = json["version"]?.intValue else { throw ContractError("policy.version must be an integer") }
            self.version = Int(version)
            weights = try Self.weights(json["routing"], "policy.routing")
            ttls = try Self.ttls(json["cache"], "policy.cache")
            for (tool, entry) in json["cache"]?.objectValue ?? [] {
                guard let value = entry["admit_after"], value != .null else { continue }
                guard let count = value.intValue, count >= 1 else { throw ContractError("policy.cache[\"\(tool)\"].admit_after must be an integer ≥ 1") }
                admitAfter[tool] = Int(min(count, 1 << 20))
            }
            warm = try Self.transitions(json["warm"])
            if let experiment = json["experiment"], experiment != .null {
                guard let id = experiment["id"]?.stringValue, !id.isEmpty else { throw ContractError("policy.experiment.id must be a non-empty string") }
                guard let share = experiment["share"]?.doubleValue, share >= 0, share <= 1 else {
                    throw ContractError("policy.experiment.share must be a number in 0...1")
                }
                canary = Canary(
                    id: id, share: share, weights: try Self.weights(experiment["routing"], "policy.experiment.routing"),
                    ttls: try Self.ttls(experiment["cache"], "policy.experiment.cache")
                )
            }
        }

        private static func transitions(_ section: JSONValue?) throws(ContractError) -> [PredictiveWarmer.Transition] {
            guard let section, section != .null else { return [] }
            guard let items = section.arrayValue else { throw ContractError("policy.warm must be an array") }
            var transitions: [PredictiveWarmer.Transition] = []
            for (index, item) in items.enumerated() {
                func text(_ name: String) throws(ContractError) -> String {
                    guard let value = item[name]?.stringValue, !value.isEmpty else { throw ContractError("policy.warm[\(index)].\(name) must be a non-empty string") }
                    return value
                }
                let (afterTool, afterKey, nextTool, nextKey) = (try text("after_tool"), try text("after_key"), try text("next_tool"), try text("next_key"))
                guard let probability = item["probability"]?.doubleValue, probability >= 0, probability <= 1 else {
                    throw ContractError("policy.warm[\(index)].probability must be a number in 0...1")
                }
                transitions.append(
                    PredictiveWarmer.Transition(afterTool: afterTool, afterKey: afterKey, nextTool: nextTool, nextKey: nextKey, probability: probability)
                )
            }
            return transitions
        }

        private static func weights(_ section: JSONValue?, _ path: String) throws(ContractError) -> [String: Double] {
            var weights: [String: Double] = [:]
            for (replica, entry) in section?.objectValue ?? [] {
                guard let weight = entry["weight"]?.doubleValue, weight.isFinite, weight >= 0 else {
                    throw ContractError("\(path)[\"\(replica)\"].weight must be a number ≥ 0")
                }
                weights[replica] = weight
            }
            return weights
        }

        private static func ttls(_ section: JSONValue?, _ path: String) throws(ContractError) -> [String: Duration] {
            var ttls: [String: Duration] = [:]
            for (tool, entry) in section?.objectValue ?? [] {
                guard let seconds = entry["ttl_seconds"]?.doubleValue, seconds.isFinite, seconds > 0 else {
                    throw ContractError("\(path)[\"\(tool)\"].ttl_seconds must be a number > 0")
                }
                ttls[tool] = .milliseconds(Int64((seconds * 1000).rounded()))
            }
            return ttls
        }
    }

    private struct State {
        var current: Snapshot?
        var etag: String?
        var lastError: String?
    }

    private let client: ServiceClient?
    private let interval: Duration
    private let backends: ToolBackends
    private let cache: ToolResultCache
    private let warmer: PredictiveWarmer?
    private let versionGauge: Gauge
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter client: the learn service (nil: no learn service, the fallback throughout).
    init(
        client: ServiceClient?, interval: Duration, backends: ToolBackends, cache: ToolResultCache, warmer: PredictiveWarmer?, registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.client = client
        self.interval = interval
        self.backends = backends
        self.cache = cache
        self.warmer = warmer
        self.logger = logger
        versionGauge = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "switchboard", subsystem: "gateway", metricName: "policy_version", unitName: "",
                helpText: "Version of the learn service's policy the gateway routes and caches by (0: the fallback, equal weights and configured TTLs)"
            )
        )
    }

    /// The policy in force; nil while on the fallback.
    var current: Snapshot? { state.withLock { $0.current } }

    /// The arm that serves one call while a canary runs (the candidate for its share of calls, drawn
    /// at random); nil without a canary.
    func drawArm() -> Arm? {
        guard let canary = state.withLock({ $0.current?.canary }) else { return nil }
        let candidate = Double.random(in: 0..<1) < canary.share
        return Arm(
            arm: CallEvent.ExperimentArm(experiment: canary.id, candidate: candidate), weights: candidate ? canary.weights : nil,
            ttls: candidate ? canary.ttls : nil
        )
    }

    /// For `/ready`: the version in force or "fallback", and the last polling problem.
    var summary: String {
        let (current, lastError) = state.withLock { ($0.current, $0.lastError) }
        guard client != nil else { return "fallback: no learn service configured (SWITCHBOARD_LEARN_URL)" }
        var text = current.map {
            "version \($0.version): \($0.weights.count) routing weight(s), \($0.ttls.count) cache TTL(s), \($0.warm.count) warm transition(s)"
        }
            ?? "fallback: equal weights, configured TTLs"
        if let canary = current?.canary { text += "; canary \(canary.id) on \(canary.share * 100)% of calls" }
        if let lastError { text += "; last poll failed: \(lastError)" }
        return text
    }

    func run() async throws {
        guard client != nil else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.poll()
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Asks the learn service once; applies a new version, keeps the current one on 304 or any failure.
    func poll() async {
        guard let client else { return }
        let etag = state.withLock { $0.etag }
        do {
            let response = try await client.send(.GET, LearnServiceAPI.policyPath, headers: etag.map { [("If-None-Match", $0)] } ?? [], timeout: .seconds(5))
            switch response.status {
            case 304:
                state.withLock { $0.lastError = nil }
            case 200:
                let snapshot: Snapshot
                do {
                    snapshot = try Snapshot(json: try JSONParser.parse(response.bytes))
                } catch {
                    throw ContractError("\(error)")
                }
                apply(snapshot, etag: response.headers.first(name: "ETag"))
            default:
                throw ContractError("HTTP \(response.status)")
            }
        } catch {
            let message = "\(error)"
            let (changed, canary) = state.withLock { state -> (Bool, String?) in
                defer { state.lastError = message }
                // No guardrail watches a canary while the learn service is away: serve the control only,
                // and read the policy afresh (no ETag) once it answers again.
                let canary = state.current?.canary?.id
                if canary != nil {
                    state.current?.canary = nil
                    state.etag = nil
                }
                return (state.lastError != message, canary)
            }
            if changed { logger.warning("learn service policy not read; keeping the policy in force", metadata: ["error": .string(message)]) }
            if let canary { logger.warning("canary experiment suspended while the learn service is away", metadata: ["experiment": .string(canary)]) }
        }
    }

    private func apply(_ snapshot: Snapshot, etag: String?) {
        let previous = state.withLock { state -> Snapshot? in
            defer { state = State(current: snapshot, etag: etag, lastError: nil) }
            return state.current
        }
        guard previous != snapshot else { return }
        backends.setWeights(snapshot.weights)
        cache.setLearnedTTLs(snapshot.ttls)
        cache.admission.setLearned(snapshot.admitAfter)
        warmer?.setTransitions(snapshot.warm)
        versionGauge.set(Int64(snapshot.version))
        logger.debug("learn service policy applied", metadata: ["version": .stringConvertible(snapshot.version)])
    }
}
