import Logging
import Prometheus
import SwitchboardCore

/// The gateway's rate limits: which rules apply to a call, the limiter that enforces them, and what to do
/// when that limiter (Redis) cannot be reached.
struct RateLimits: Sendable {
    /// Behaviour while the limiter is unreachable (`SWITCHBOARD_RATE_LIMIT_OUTAGE`).
    enum OutageMode: String, Sendable, CaseIterable {
        /// Allow every call.
        case open
        /// Refuse every call a rule applies to.
        case closed
        /// Allow calls of read-only tools, refuse the others (the default).
        case readOnlyOpen = "read-only-open"
        /// Enforce the same rules per replica with in-process buckets.
        case local
    }

    let rules: [RateLimitRule]
    let limiter: any RateLimiter
    let outage: OutageMode
    /// In-process buckets for `local` mode.
    private let fallback = MemoryRateLimiter()
    private let rejections: CounterFamily
    private let outageDecisions: CounterFamily
    private let logger: Logger

    init(rules: [RateLimitRule], limiter: any RateLimiter, outage: OutageMode, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.rules = rules
        self.limiter = limiter
        self.outage = outage
        self.logger = logger
        rejections = CounterFamily(
            registry: registry,
            descriptor: MetricNameDescriptor(
                namespace: "switchboard", subsystem: "rate_limit", metricName: "rejections", unitName: "total",
                helpText: "tools/call refused by a rate limit, by the refusing rule's scope (unavailable: limiter unreachable in closed mode)"
            ),
            labels: ["scope"]
        )
        outageDecisions = CounterFamily(
            registry: registry,
            descriptor: MetricNameDescriptor(
                namespace: "switchboard", subsystem: "rate_limit", metricName: "outage_decisions", unitName: "total",
                helpText: "Calls decided while the limiter was unreachable, by outage mode and decision (allowed, refused, local)"
            ),
            labels: ["mode", "decision"]
        )
    }

    /// Parses `SWITCHBOARD_RATE_LIMITS`.
    static func rules(from entries: [String]) throws(ConfigurationError) -> [RateLimitRule] {
        var rules: [RateLimitRule] = []
        for entry in entries { rules.append(try RateLimitRule(entry)) }
        return rules
    }

    /// Takes a token for a call of `tool` by `principal`, or throws the denial to answer with.
    /// No rule for the call means no limiter round trip.
    func admit(principal: String, tool: ToolEntry) async throws(RateLimitDenial) {
        let applicable = RateLimitRule.applicable(rules, tool: tool.name)
        guard !applicable.isEmpty else { return }
        let buckets = applicable.map { $0.bucket(principal: principal, tool: tool.name) }
        let decision: RateLimitDecision
        do {
            decision = try await limiter.acquire(buckets)
        } catch {
            decision = try await duringOutage(buckets, tool: tool, error: error)
        }
        guard case .limited(let index, let retryAfter) = decision else { return }
        let rule = applicable[index]
        rejections.increment(rule.scope.rawValue)
        throw RateLimitDenial(
            rule: rule.description, scope: rule.scope.rawValue, retryAfter: retryAfter,
            message: "Rate limit exceeded for \(tool.name) by rule \(rule.description) (\(rule.scope.rawValue)); retry after \(Units.format(retryAfter))"
        )
    }

    private func duringOutage(_ buckets: [TokenBucket], tool: ToolEntry, error: any Error) async throws(RateLimitDenial) -> RateLimitDecision {
        switch outage {
        case .open:
            outageDecisions.increment(outage.rawValue, "allowed")
            return .allowed
        case .readOnlyOpen where tool.isReadOnly:
            outageDecisions.increment(outage.rawValue, "allowed")
            return .allowed
        case .local:
            outageDecisions.increment(outage.rawValue, "local")
            return (try? await fallback.acquire(buckets)) ?? .allowed
        case .closed, .readOnlyOpen:
            outageDecisions.increment(outage.rawValue, "refused")
            rejections.increment("unavailable")
            logger.debug("rate limiter unreachable; refusing", metadata: ["tool": .string(tool.name), "error": .string("\(error)")])
            throw RateLimitDenial(
                rule: nil, scope: nil, retryAfter: .seconds(1),
                message: "Rate limiter unavailable and SWITCHBOARD_RATE_LIMIT_OUTAGE=\(outage.rawValue) refuses \(tool.isReadOnly ? "" : "non-read-only ")calls of \(tool.name) until it is back; retry after 1s"
            )
        }
    }

    /// One line for `/ready`.
    var summary: String {
        guard !rules.isEmpty else { return "no rules (SWITCHBOARD_RATE_LIMITS is empty)" }
        return "\(limiter.kind): \(rules.count) rule(s): \(rules.map(\.description).joined(separator: ", ")); while unreachable: \(outage.rawValue)"
    }
}
