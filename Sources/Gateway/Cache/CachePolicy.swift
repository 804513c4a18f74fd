import SwitchboardCore

/// Which tools' results are cached, for how long, and for whom.
///
/// A tool is cached when it is annotated read-only or idempotent (with `defaultTTL`), or when it has
/// an entry in `SWITCHBOARD_CACHE_TOOLS` (`tool=TTL`, optionally `tool=TTL:shared`); `tool=0` turns
/// caching off for one tool. Entries are per principal unless the tool's entry says `shared`.
/// An annotated tool without an entry takes its TTL from the learn service's policy when it has one
/// (``learnedTTLs``): configuration wins, what was learned beats the default.
struct CachePolicy: Sendable, Equatable {
    /// Whose calls share an entry.
    enum Scope: String, Sendable {
        /// Each principal has its own entries (the default: results may depend on who asks).
        case principal
        /// Every principal shares one entry per tool and arguments.
        case shared
    }

    struct Rule: Sendable, Equatable {
        var ttl: Duration
        var scope: Scope
    }

    var defaultTTL: Duration
    /// Per-tool rules; a rule with a zero TTL disables caching for that tool.
    var rules: [String: Rule]
    /// Results larger than this are never cached.
    var maxResultBytes: Int
    /// TTLs per tool from the learn service's policy (``LearnedPolicy``); empty without a policy.
    var learnedTTLs: [String: Duration] = [:]

    init(defaultTTL: Duration, rules: [String: Rule] = [:], maxResultBytes: Int) {
        self.defaultTTL = defaultTTL
        self.rules = rules
        self.maxResultBytes = maxResultBytes
    }

    /// Parses `SWITCHBOARD_CACHE_TOOLS` entries (`tool=TTL[:shared|:principal]`).
    init(defaultTTL: Duration, entries: [String], maxResultBytes: Int) throws(ConfigurationError) {
        var rules: [String: Rule] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError(description: "invalid entry '\(entry)' in SWITCHBOARD_CACHE_TOOLS: expected tool=TTL or tool=TTL:shared")
            }
            let settings = parts[1].split(separator: ":", maxSplits: 1).map(String.init)
            guard let ttl = Units.parseDuration(settings[0]), ttl >= .zero else {
                throw ConfigurationError(description: "invalid TTL '\(settings[0])' for \(parts[0]) in SWITCHBOARD_CACHE_TOOLS: expected a duration such as 30s or 5m (0 turns caching off)")
            }
            var scope = Scope.principal
            if settings.count == 2 {
                guard let parsed = Scope(rawValue: settings[1]) else {
                    throw ConfigurationError(description: "invalid scope '\(settings[1])' for \(parts[0]) in SWITCHBOARD_CACHE_TOOLS: expected shared or principal")
                }
                scope = parsed
            }
            rules[parts[0]] = Rule(ttl: ttl, scope: scope)
        }
        self.init(defaultTTL: defaultTTL, rules: rules, maxResultBytes: maxResultBytes)
    }

    /// How to cache `tool`'s results, or nil when they are not cached.
    func rule(for tool: ToolEntry) -> Rule? {
        if let explicit = rules[tool.name] { return explicit.ttl > .zero ? explicit : nil }
        guard defaultTTL > .zero, tool.isReadOnly || tool.isIdempotent else { return nil }
        return Rule(ttl: learnedTTLs[tool.name] ?? defaultTTL, scope: .principal)
    }
}
