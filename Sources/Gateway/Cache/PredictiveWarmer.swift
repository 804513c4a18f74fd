import Logging
import Synchronization
import SwitchboardCore

/// Next-call prediction put to work: the learn service publishes transitions between cacheable calls
/// (`warm`: after `after_key` of `after_tool`, `next_key` of `next_tool` follows with `probability`),
/// and when a call with a transition's `after_key` has been answered this runs the predicted next
/// call in the background so that it is a cache hit when the client asks.
///
/// The gateway remembers the recently answered cacheable calls by their opaque cache key (a bounded
/// map of key → tool, arguments and principal) — a predicted call is run only when it was seen here.
/// Only read-only tools are warmed, at most `concurrency` warming calls run at once (further
/// predictions are dropped, counted `busy`), and the client's answer never waits for any of this.
final class PredictiveWarmer: Sendable {
    /// One transition of the policy's `warm` list.
    struct Transition: Sendable, Equatable {
        var afterTool: String
        var afterKey: String
        var nextTool: String
        var nextKey: String
        var probability: Double
    }

    /// A call as the client made it.
    struct Call: Sendable, Equatable {
        var tool: String
        var arguments: [UInt8]
        var principal: String
    }

    private struct State {
        /// Transitions at or above the threshold, by `after_key`.
        var transitions: [String: [Transition]] = [:]
        var recent: [String: Call] = [:]
        /// Keys of `recent` in insertion order (a ring): the oldest is forgotten first.
        var order: [String] = []
        var cursor = 0
        /// Keys being warmed now.
        var running: Set<String> = []
    }

    /// Transitions below this probability are not acted on.
    let minimumProbability: Double
    let capacity: Int
    let concurrency: Int
    private let cache: ToolResultCache
    private let backends: ToolBackends
    private let toolTimeout: Duration
    private let metrics: CacheMetrics
    private let logger: Logger
    private let state = Mutex(State())

    init(
        cache: ToolResultCache, backends: ToolBackends, toolTimeout: Duration, metrics: CacheMetrics, logger: Logger, minimumProbability: Double = 0.5,
        capacity: Int = 4096, concurrency: Int = 4
    ) {
        self.cache = cache
        self.backends = backends
        self.toolTimeout = toolTimeout
        self.metrics = metrics
        self.logger = logger
        self.minimumProbability = minimumProbability
        self.capacity = capacity
        self.concurrency = concurrency
    }

    /// Replaces the transitions from a new policy version.
    func setTransitions(_ transitions: [Transition]) {
        let kept = Dictionary(grouping: transitions.filter { $0.probability >= minimumProbability }, by: \.afterKey)
        state.withLock { $0.transitions = kept }
    }

    /// Transitions in force (for `/ready`).
    var transitionCount: Int { state.withLock { $0.transitions.values.reduce(0) { $0 + $1.count } } }

    /// A cacheable call was answered: remember it, and start warming the calls predicted to follow it.
    func answered(tool: String, cacheKey: String, arguments: ArraySlice<UInt8>, principal: String) {
        let due = state.withLock { state -> [(key: String, call: Call)] in
            remember(cacheKey, Call(tool: tool, arguments: Array(arguments), principal: principal), in: &state)
            var due: [(key: String, call: Call)] = []
            for transition in state.transitions[cacheKey] ?? [] where transition.afterTool == tool {
                guard let next = state.recent[transition.nextKey], next.tool == transition.nextTool, !state.running.contains(transition.nextKey) else { continue }
                guard state.running.count < concurrency else {
                    metrics.predictiveWarms.increment("busy")
                    continue
                }
                state.running.insert(transition.nextKey)
                due.append((transition.nextKey, next))
            }
            return due
        }
        for (key, call) in due {
            Task { await self.warm(call, key: key) }
        }
    }

    private func remember(_ key: String, _ call: Call, in state: inout State) {
        if state.recent.updateValue(call, forKey: key) != nil { return }
        if state.order.count < capacity {
            state.order.append(key)
        } else {
            state.recent[state.order[state.cursor]] = nil
            state.order[state.cursor] = key
            state.cursor = (state.cursor + 1) % capacity
        }
    }

    /// Runs one predicted call through the cache (unless its entry is cached already).
    private func warm(_ call: Call, key: String) async {
        let outcome: String
        do {
            let tool = try await backends.tool(named: call.tool)
            if tool.isReadOnly {
                let backends = backends, timeout = toolTimeout
                outcome = await cache.prefetch(tool: tool, arguments: call.arguments, principal: call.principal) {
                    try await backends.call(tool, arguments: call.arguments[...], principal: call.principal, callID: RequestID.generate(), timeout: timeout)
                }.rawValue
            } else {
                outcome = "not_read_only"
            }
        } catch {
            logger.debug("predictive warming of \(call.tool) failed", metadata: ["error": .string(error.message)])
            outcome = "failed"
        }
        metrics.predictiveWarms.increment(outcome)
        _ = state.withLock { $0.running.remove(key) }
    }
}
