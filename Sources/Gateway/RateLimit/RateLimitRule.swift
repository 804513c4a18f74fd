import SwitchboardCore

/// One configured limit: a token bucket per principal, per tool, or per principal and tool.
///
/// Written `SCOPE[@TOOL]=COUNT/PERIOD[:BURST]` in `SWITCHBOARD_RATE_LIMITS`, e.g. `principal=600/1m`
/// (each principal, all tools together), `tool@execute_command=20/1s` (that tool, all principals together),
/// `principal-tool=10/1s:30` (each principal on each tool, bursts of 30). Tokens refill continuously at
/// COUNT per PERIOD; BURST (default COUNT) is the bucket's size. A rule naming a tool replaces the
/// general rule of its scope for that tool.
struct RateLimitRule: Sendable, Equatable, CustomStringConvertible {
    enum Scope: String, Sendable, CaseIterable {
        case principal
        case tool
        case principalTool = "principal-tool"
    }

    let scope: Scope
    /// The one tool this rule is for (nil: every tool).
    let tool: String?
    let count: Int
    let period: Duration
    let burst: Int
    /// The rule as configured.
    let description: String

    var tokensPerSecond: Double { Double(count) / period.seconds }

    init(_ text: String) throws(ConfigurationError) {
        func invalid(_ reason: String) -> ConfigurationError {
            ConfigurationError(description: "invalid rule '\(text)' in SWITCHBOARD_RATE_LIMITS: \(reason)")
        }
        let sides = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard sides.count == 2 else { throw invalid("expected SCOPE[@TOOL]=COUNT/PERIOD[:BURST], e.g. principal=600/1m") }
        let target = sides[0].split(separator: "@", maxSplits: 1).map(String.init)
        guard let scope = Scope(rawValue: target[0]) else {
            throw invalid("unknown scope '\(target[0])'; use \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if target.count == 2 {
            guard scope != .principal else { throw invalid("a principal rule covers all tools; use principal-tool@\(target[1]) for one tool") }
            guard !target[1].isEmpty else { throw invalid("empty tool name after @") }
        }
        let limit = sides[1].split(separator: ":", maxSplits: 1).map(String.init)
        let rate = limit[0].split(separator: "/", maxSplits: 1).map(String.init)
        guard rate.count == 2, let count = Int(rate[0]), count > 0 else { throw invalid("COUNT must be a positive integer, as in 100/1m") }
        // A bare unit means one of it: 100/s, 600/m.
        let periodText = rate[1].first?.isNumber == true ? rate[1] : "1" + rate[1]
        guard let period = Units.parseDuration(periodText), period > .zero else {
            throw invalid("PERIOD '\(rate[1])' must be a duration such as 1s, 1m or 1h")
        }
        var burst = count
        if limit.count == 2 {
            guard let value = Int(limit[1]), value > 0 else { throw invalid("BURST '\(limit[1])' must be a positive integer") }
            burst = value
        }
        self.scope = scope
        self.tool = target.count == 2 ? target[1] : nil
        self.count = count
        self.period = period
        self.burst = burst
        description = text
    }

    /// The rules that apply to a call: per scope, the rule for this tool if there is one, else the general one.
    static func applicable(_ rules: [RateLimitRule], tool: String) -> [RateLimitRule] {
        Scope.allCases.compactMap { scope in
            rules.first { $0.scope == scope && $0.tool == tool } ?? rules.first { $0.scope == scope && $0.tool == nil }
        }
    }

    /// The bucket this rule keeps for a call (`sb:rl:` keys in Redis).
    func bucket(principal: String, tool: String) -> TokenBucket {
        let identity: String
        switch scope {
        case .principal: identity = "p:" + principal
        case .tool: identity = "t:" + tool
        case .principalTool: identity = "pt:" + principal + ":" + tool
        }
        return TokenBucket(key: identity, tokensPerSecond: tokensPerSecond, capacity: burst)
    }
}

/// A token bucket as a limiter sees it.
struct TokenBucket: Sendable, Hashable {
    /// Identity within the limiter, e.g. `pt:alice:read_file`.
    let key: String
    let tokensPerSecond: Double
    let capacity: Int
}
