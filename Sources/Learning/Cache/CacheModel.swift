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
        /// Keys remembered over all tools (their last execution time and result); the oldest is forgotten
        /// first.
        public var keys = 16_384
        /// Tools tracked; the longest idle is forgotten first.
        public var tools = 128
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

    /// The last execution of one tool's key.
    struct Execution: Sendable, Equatable {
        /// The key hash combined with the tool's.
        var key: UInt64
        var time: Double
        var result: UInt64
    }

    struct ToolState: Sendable, Equatable {
        var changes = ChangeRateEstimator()
        var requests = 0
        var repeats = 0
        var lastSeen = 0.0
    }

    public let configuration: Configuration
    private(set) var tools: [String: ToolState] = [:]
    /// One table of executions shared by all tools: a ring in insertion order and its index by key.
    private var executions: [Execution] = []
    private var oldest = 0
    private var index: [UInt64: Int32] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// One cacheable call: a cache hit, or an execution with the hash of its result.
    public mutating func observe(tool: String, key: UInt64, result: UInt64?, cacheHit: Bool, at time: Double) {
        let slot: Dictionary<String, ToolState>.Index
        if let known = tools.index(forKey: tool) {
            slot = known
        } else {
            if tools.count >= configuration.tools, let idlest = tools.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                tools[idlest] = nil
            }
            tools[tool] = ToolState()
            slot = tools.index(forKey: tool)!
        }
        let combined = Self.combine(tool: tool, key: key)
        let position = index[combined].map(Int.init)
        tools.values[slot].requests += 1
        tools.values[slot].lastSeen = max(tools.values[slot].lastSeen, time)
        if cacheHit || position != nil { tools.values[slot].repeats += 1 }
        guard !cacheHit, let result else { return }
        if let position {
            let known = executions[position]
            tools.values[slot].changes.observe(interval: time - known.time, changed: known.result != result)
            executions[position].time = time
            executions[position].result = result
        } else {
            remember(Execution(key: combined, time: time, result: result))
        }
    }

    /// Adds a key's first execution, forgetting the oldest key when the table is full.
    private mutating func remember(_ execution: Execution) {
        if executions.count < max(1, configuration.keys) {
            if executions.isEmpty {
                executions.reserveCapacity(configuration.keys)
                index.reserveCapacity(configuration.keys)
            }
            index[execution.key] = Int32(executions.count)
            executions.append(execution)
        } else {
            index[executions[oldest].key] = nil
            executions[oldest] = execution
            index[execution.key] = Int32(oldest)
            oldest = (oldest + 1) % executions.count
        }
    }

    /// A key of one tool: its hash mixed with the tool name's, so that tools share one table.
    static func combine(tool: String, key: UInt64) -> UInt64 {
        var hash = (StableHash.fnv1a(tool) ^ key) &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash >> 29
        return hash ^ key
    }

    /// Executions remembered, oldest first.
    var remembered: [Execution] { Array(executions[oldest...] + executions[..<oldest]) }

    public static func == (lhs: CacheModel, rhs: CacheModel) -> Bool {
        lhs.configuration == rhs.configuration && lhs.tools == rhs.tools && lhs.remembered == rhs.remembered
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

    /// Bytes held: the tool table with each tool's change observations and the shared key table.
    public var memoryBytes: Int {
        tools.reduce(MemoryFootprint.dictionary(tools)) { $0 + MemoryFootprint.heap($1.key) + $1.value.changes.memoryBytes }
            + MemoryFootprint.array(executions) + MemoryFootprint.dictionary(index)
    }

    /// The most `memoryBytes` can be under `configuration` with tool names of at most `nameBytes`: every
    /// tool with a full change-observation window, the key table full.
    public static func bytes(configuration: Configuration, nameBytes: Int) -> Int {
        let name = MemoryFootprint.heap(String(repeating: "x", count: nameBytes))
        let tool = name + ChangeRateEstimator.bytes(capacity: ChangeRateEstimator().capacity)
        return MemoryFootprint.dictionary(capacity: configuration.tools, key: MemoryLayout<String>.stride, value: MemoryLayout<ToolState>.stride)
            + configuration.tools * tool + configuration.keys * MemoryLayout<Execution>.stride + 32
            + MemoryFootprint.dictionary(capacity: configuration.keys, key: 8, value: 4)
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.double(configuration.staleness)
        writer.double(configuration.ttlBounds.lowerBound)
        writer.double(configuration.ttlBounds.upperBound)
        writer.int(configuration.keys)
        writer.int(configuration.tools)
        writer.double(configuration.reuseForAdmitAll)
        writer.int(tools.count)
        for name in tools.keys.sorted() {
            let state = tools[name]!
            writer.string(name)
            state.changes.encode(into: &writer)
            writer.int(state.requests)
            writer.int(state.repeats)
            writer.double(state.lastSeen)
        }
        let remembered = remembered
        writer.int(remembered.count)
        for execution in remembered {
            writer.uint64(execution.key)
            writer.double(execution.time)
            writer.uint64(execution.result)
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.staleness = try reader.double()
        let low = try reader.double()
        let high = try reader.double()
        guard low <= high else { throw CheckpointError("cache model: TTL bounds \(low) > \(high)") }
        configuration.ttlBounds = low...high
        configuration.keys = try reader.int()
        configuration.tools = try reader.int()
        configuration.reuseForAdmitAll = try reader.double()
        guard configuration.keys > 0, configuration.tools > 0 else { throw CheckpointError("cache model: no room for keys or tools") }
        self.init(configuration: configuration)
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            var state = ToolState()
            state.changes = try ChangeRateEstimator(from: &reader)
            state.requests = try reader.int()
            state.repeats = try reader.int()
            state.lastSeen = try reader.double()
            tools[name] = state
        }
        for _ in 0..<(try reader.count()) {
            let execution = Execution(key: try reader.uint64(), time: try reader.double(), result: try reader.uint64())
            guard index[execution.key] == nil else { throw CheckpointError("cache model: key remembered twice") }
            remember(execution)
        }
    }
}
