/// Per-tool caching policy learned from telemetry: how often results change (→ TTL) and how often
/// keys come back (→ admission).
///
/// The gateway reports, for cacheable calls, a hash of the cache key and — when the tool ran — a hash
/// of the result. Two executions of the same key `I` seconds apart with different results are one
/// observation of a change; see ``ChangeRateEstimator``.
public struct CacheModel: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Largest probability that an entry is stale when it expires (ε).
        public var staleness = 0.01
        /// TTLs are kept within these seconds.
        public var ttlBounds: ClosedRange<Double> = 1...86_400
        /// Keys remembered per tool (their last execution time and result).
        public var keysPerTool = 4096
        /// Tools tracked; the longest idle is forgotten first.
        public var tools = 1024
        /// Below this share of requests for keys seen before, a tool's entries are admitted only on their
        /// second request.
        public var reuseForAdmitAll = 0.9
        public init() {}
    }

    /// The learned policy of one tool.
    public struct ToolPolicy: Sendable, Equatable {
        public var ttlSeconds: Double
        /// Requests for a key (counted by the gateway's frequency sketch) before its result is stored.
        public var admitAfter: Int
        /// Estimated result changes per second.
        public var changeRate: Double?
        /// Share of requests for keys seen before.
        public var reuse: Double
        public var observations: Int
    }

    struct Execution: Sendable, Equatable {
        var time: Double
        var result: UInt64
    }

    struct ToolState: Sendable, Equatable {
        var changes = ChangeRateEstimator()
        var executions: [UInt64: Execution] = [:]
        /// Keys in insertion order, to forget the oldest when full.
        var order: [UInt64] = []
        var orderStart = 0
        var requests = 0
        var repeats = 0
        var lastSeen = 0.0
    }

    public let configuration: Configuration
    private(set) var tools: [String: ToolState] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// One cacheable call: a cache hit, or an execution with the hash of its result.
    public mutating func observe(tool: String, key: UInt64, result: UInt64?, cacheHit: Bool, at time: Double) {
        if tools[tool] == nil, tools.count >= configuration.tools, let idlest = tools.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
            tools[idlest] = nil
        }
        // Moved out of the dictionary so its key tables are mutated in place, not copied.
        var state = tools.removeValue(forKey: tool) ?? ToolState()
        state.requests += 1
        state.lastSeen = max(state.lastSeen, time)
        let known = state.executions[key]
        if cacheHit || known != nil { state.repeats += 1 }
        if !cacheHit, let result {
            if let known { state.changes.observe(interval: time - known.time, changed: known.result != result) }
            if known == nil {
                if state.order.count - state.orderStart >= configuration.keysPerTool {
                    state.executions[state.order[state.orderStart]] = nil
                    state.orderStart += 1
                    if state.orderStart > configuration.keysPerTool {
                        state.order.removeFirst(state.orderStart)
                        state.orderStart = 0
                    }
                }
                state.order.append(key)
            }
            state.executions[key] = Execution(time: time, result: result)
        }
        tools[tool] = state
    }

    public func policy(for tool: String) -> ToolPolicy? {
        guard let state = tools[tool] else { return nil }
        let reuse = state.requests > 0 ? Double(state.repeats) / Double(state.requests) : 0
        return ToolPolicy(
            ttlSeconds: state.changes.timeToLive(staleness: configuration.staleness, bounds: configuration.ttlBounds),
            admitAfter: reuse >= configuration.reuseForAdmitAll ? 1 : 2, changeRate: state.changes.rate, reuse: reuse,
            observations: state.changes.count
        )
    }

    public var toolNames: [String] { tools.keys.sorted() }

    public var memoryBytes: Int {
        tools.reduce(0) { total, entry in
            total + entry.key.utf8.count + entry.value.changes.memoryBytes + entry.value.executions.capacity * 40 + entry.value.order.capacity * 8 + 96
        }
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.double(configuration.staleness)
        writer.double(configuration.ttlBounds.lowerBound)
        writer.double(configuration.ttlBounds.upperBound)
        writer.int(configuration.keysPerTool)
        writer.int(configuration.tools)
        writer.double(configuration.reuseForAdmitAll)
        writer.int(tools.count)
        for name in tools.keys.sorted() {
            let state = tools[name]!
            writer.string(name)
            state.changes.encode(into: &writer)
            let keys = Array(state.order[state.orderStart...])
            writer.int(keys.count)
            for key in keys {
                let execution = state.executions[key]!
                writer.uint64(key)
                writer.double(execution.time)
                writer.uint64(execution.result)
            }
            writer.int(state.requests)
            writer.int(state.repeats)
            writer.double(state.lastSeen)
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.staleness = try reader.double()
        let low = try reader.double()
        let high = try reader.double()
        guard low <= high else { throw CheckpointError("cache model: TTL bounds \(low) > \(high)") }
        configuration.ttlBounds = low...high
        configuration.keysPerTool = try reader.int()
        configuration.tools = try reader.int()
        configuration.reuseForAdmitAll = try reader.double()
        self.init(configuration: configuration)
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            var state = ToolState()
            state.changes = try ChangeRateEstimator(from: &reader)
            for _ in 0..<(try reader.count()) {
                let key = try reader.uint64()
                state.executions[key] = Execution(time: try reader.double(), result: try reader.uint64())
                state.order.append(key)
            }
            state.requests = try reader.int()
            state.repeats = try reader.int()
            state.lastSeen = try reader.double()
            tools[name] = state
        }
    }
}
