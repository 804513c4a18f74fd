import Foundation

/// Replays a synthetic tool-call trace through a result cache of fixed size with LRU eviction, under
/// different TTL and admission policies, and measures hit ratio, stale serves and cache writes.
///
/// The trace: Poisson arrivals; each tool has its own key popularity (Zipf) and its results change as a
/// Poisson process per key at the tool's rate; a share of requests carries one-off keys.
public enum CacheSimulation {
    public struct Tool: Sendable {
        public let name: String
        /// Result changes per second, per key.
        public let changeRate: Double
        public let keys: Int
        public let zipf: Double
        public init(name: String, changeRate: Double, keys: Int, zipf: Double) {
            self.name = name
            self.changeRate = changeRate
            self.keys = keys
            self.zipf = zipf
        }
    }

    public struct Trace: Sendable {
        public let name: String
        public let tools: [Tool]
        public let requestRate: Double
        public let duration: Double
        /// Share of requests for keys never requested again.
        public let oneHitShare: Double
        public let capacity: Int
        /// Seconds after which the popular keys become others (0: never).
        public let shiftEvery: Double
        public var seed: UInt64 = 3
        public init(name: String, tools: [Tool], requestRate: Double, duration: Double, oneHitShare: Double, capacity: Int, shiftEvery: Double = 0) {
            self.shiftEvery = shiftEvery
            self.name = name
            self.tools = tools
            self.requestRate = requestRate
            self.duration = duration
            self.oneHitShare = oneHitShare
            self.capacity = capacity
        }
    }

    public enum Policy: Sendable, Hashable {
        /// LRU, entries never expire, everything admitted.
        case lru
        /// LRU with one TTL for every tool, everything admitted.
        case fixedTTL(Double)
        /// The learn service's policy: per-tool TTL and admission, learned online from the replayed telemetry.
        case learned
        /// Per-tool TTL computed from the true change rates, everything admitted (a reference).
        case oracleTTL

        public var name: String {
            switch self {
            case .lru: return "LRU, no TTL"
            case .fixedTTL(let ttl): return "LRU, fixed TTL \(Int(ttl)) s"
            case .learned: return "learned TTL + admission"
            case .oracleTTL: return "oracle TTL (true change rates)"
            }
        }
    }

    public struct Result: Sendable {
        public let policy: Policy
        public let requests: Int
        public let hitRatio: Double
        /// Stale hits / hits.
        public let staleShareOfHits: Double
        /// Stale hits / requests.
        public let staleShareOfRequests: Double
        /// Results written to the cache.
        public let writes: Int
        /// The learned TTL per tool at the end (learned policy only).
        public let ttls: [String: Double]
    }

    /// Staleness budget the learned and oracle TTLs are set for.
    public static let staleness = 0.01

    public static func run(_ trace: Trace, policy: Policy) -> Result {
        var random = SplitMix64(seed: trace.seed)
        let cumulative = trace.tools.map { tool -> [Double] in
            var sum = 0.0
            let weights = (1...tool.keys).map { pow(Double($0), -tool.zipf) }
            let total = weights.reduce(0, +)
            return weights.map { sum += $0 / total; return sum }
        }
        var versions: [UInt64: (version: UInt64, nextChange: Double)] = [:]
        var cache = LRUCache(capacity: trace.capacity)
        var sketch = FrequencySketch(capacity: trace.capacity)
        var model = CacheModel(configuration: { var c = CacheModel.Configuration(); c.staleness = staleness; return c }())
        var learned: [Int: CacheModel.ToolPolicy] = [:]
        var nextRefresh = 60.0
        var oneHit: UInt64 = 1 << 62
        var time = 0.0
        var (requests, hits, stale, writes) = (0, 0, 0, 0)

        while true {
            time += random.exponential(rate: trace.requestRate)
            guard time < trace.duration else { break }
            if policy == .learned, time >= nextRefresh {
                for (index, tool) in trace.tools.enumerated() { learned[index] = model.policy(for: tool.name) }
                nextRefresh += 60
            }
            let toolIndex = Int(random.next() % UInt64(trace.tools.count))
            let tool = trace.tools[toolIndex]
            let key: UInt64
            if random.nextDouble() < trace.oneHitShare {
                oneHit += 1
                key = oneHit
            } else {
                let u = random.nextDouble()
                var low = 0
                var high = tool.keys - 1
                while low < high {
                    let middle = (low + high) / 2
                    if cumulative[toolIndex][middle] < u { low = middle + 1 } else { high = middle }
                }
                let epoch = trace.shiftEvery > 0 ? Int(time / trace.shiftEvery) : 0
                key = UInt64(toolIndex) << 40 | UInt64((low + epoch * 997) % tool.keys)
            }
            // The key's current result version (Poisson changes, generated lazily).
            var state = versions[key] ?? (0, random.exponential(rate: tool.changeRate))
            while state.nextChange <= time {
                state.version += 1
                state.nextChange += random.exponential(rate: tool.changeRate)
            }
            versions[key] = state
            requests += 1
            sketch.increment(key)

            if let entry = cache.lookup(key, at: time) {
                hits += 1
                if entry != state.version { stale += 1 }
                if policy == .learned { model.observe(tool: tool.name, key: key, result: nil, cacheHit: true, at: time) }
                continue
            }
            let ttl: Double
            var admit = true
            switch policy {
            case .lru: ttl = .infinity
            case .fixedTTL(let value): ttl = value
            case .oracleTTL: ttl = -log(1 - staleness) / tool.changeRate
            case .learned:
                model.observe(tool: tool.name, key: key, result: state.version, cacheHit: false, at: time)
                let toolPolicy = learned[toolIndex]
                ttl = toolPolicy?.ttlSeconds ?? 60
                admit = sketch.frequency(key) >= (toolPolicy?.admitAfter ?? 1)
            }
            if admit && ttl > 0 {
                cache.insert(key, version: state.version, expiry: time + ttl)
                writes += 1
            }
        }
        var ttls: [String: Double] = [:]
        if policy == .learned { for tool in trace.tools { ttls[tool.name] = model.policy(for: tool.name)?.ttlSeconds } }
        return Result(
            policy: policy, requests: requests, hitRatio: Double(hits) / Double(requests), staleShareOfHits: hits > 0 ? Double(stale) / Double(hits) : 0,
            staleShareOfRequests: Double(stale) / Double(requests), writes: writes, ttls: ttls
        )
    }

    static let tools = [
        Tool(name: "quotes", changeRate: 1 / 60, keys: 5000, zipf: 0.9), Tool(name: "status", changeRate: 1 / 600, keys: 5000, zipf: 0.9),
        Tool(name: "search", changeRate: 1 / 3600, keys: 5000, zipf: 0.9), Tool(name: "docs", changeRate: 1 / 86_400, keys: 5000, zipf: 0.9),
    ]

    /// The traces `make eval` replays: four tools whose results change from once a minute to once a day.
    public static let traces: [Trace] = [
        Trace(
            name: "4 tools (results change 1/min, 1/10 min, 1/h, 1/day; 5,000 keys each, Zipf 0.9), 50 req/s for 4 h, 30 % one-off keys, cache of 2,000 entries",
            tools: tools, requestRate: 50, duration: 4 * 3600, oneHitShare: 0.3, capacity: 2000
        ),
        Trace(
            name: "the same, with the popular keys replaced every hour",
            tools: tools, requestRate: 50, duration: 4 * 3600, oneHitShare: 0.3, capacity: 2000, shiftEvery: 3600
        ),
    ]

    public static let policies: [Policy] = [.lru, .fixedTTL(60), .fixedTTL(600), .learned, .oracleTTL]
}

/// A fixed-size LRU map of key → (result version, expiry), index-linked for speed.
struct LRUCache {
    private struct Node {
        var key: UInt64
        var version: UInt64
        var expiry: Double
        var previous: Int
        var next: Int
    }

    private let capacity: Int
    private var nodes: [Node] = []
    private var index: [UInt64: Int] = [:]
    private var head = -1
    private var tail = -1
    private var free: [Int] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The cached version when present and fresh; an expired entry is dropped.
    mutating func lookup(_ key: UInt64, at time: Double) -> UInt64? {
        guard let slot = index[key] else { return nil }
        if nodes[slot].expiry <= time {
            remove(slot)
            return nil
        }
        unlink(slot)
        pushFront(slot)
        return nodes[slot].version
    }

    mutating func insert(_ key: UInt64, version: UInt64, expiry: Double) {
        if let slot = index[key] { remove(slot) }
        if index.count >= capacity, tail >= 0 { remove(tail) }
        let node = Node(key: key, version: version, expiry: expiry, previous: -1, next: -1)
        let slot: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        index[key] = slot
        pushFront(slot)
    }

    private mutating func remove(_ slot: Int) {
        unlink(slot)
        index[nodes[slot].key] = nil
        free.append(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let (previous, next) = (nodes[slot].previous, nodes[slot].next)
        if previous >= 0 { nodes[previous].next = next } else { head = next }
        if next >= 0 { nodes[next].previous = previous } else { tail = previous }
    }

    private mutating func pushFront(_ slot: Int) {
        nodes[slot].previous = -1
        nodes[slot].next = head
        if head >= 0 { nodes[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
