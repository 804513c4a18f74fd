/// Predicts a principal's next tool call from its last two (a Markov model of order 2 backing off to
/// order 1 and to overall popularity). Each context keeps a small Space-Saving table of the calls that
/// followed it; contexts are bounded and the least recently used is forgotten; counts halve every
/// `decayEvery` observations so that the model follows changing habits.
public struct NextCallPredictor: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var contexts = 4096
        public var followersPerContext = 8
        /// Observations a context needs before it is trusted over a shorter one.
        public var minimumSupport = 3.0
        public var decayEvery = 100_000
        public init() {}
    }

    /// A predicted call and its estimated probability.
    public struct Prediction: Sendable, Equatable {
        public let call: String
        public let probability: Double
    }

    struct Context: Hashable, Sendable {
        let first: String
        let second: String
    }

    public let configuration: Configuration
    private var followers: [Context: SpaceSaving<String>] = [:]
    private var lastUsed: [Context: Int] = [:]
    private var popularity = SpaceSaving<String>(capacity: 256)
    private var clock = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Learns that `next` followed `history` (oldest first; only the last two count).
    public mutating func observe(history: ArraySlice<String>, next: String) {
        clock += 1
        popularity.add(next)
        if let last = history.last {
            record(Context(first: "", second: last), next)
            if history.count >= 2 { record(Context(first: history[history.endIndex - 2], second: last), next) }
        }
        if clock % configuration.decayEvery == 0 {
            for key in followers.keys { followers[key]!.decay() }
            popularity.decay()
        }
    }

    private mutating func record(_ context: Context, _ next: String) {
        if followers[context] == nil, followers.count >= configuration.contexts {
            // Forget the least recently used tenth at once, so eviction stays cheap on average.
            let victims = lastUsed.sorted { $0.value < $1.value }.prefix(max(1, configuration.contexts / 10))
            for (key, _) in victims {
                followers[key] = nil
                lastUsed[key] = nil
            }
        }
        followers[context, default: SpaceSaving(capacity: configuration.followersPerContext)].add(next)
        lastUsed[context] = clock
    }

    /// The `limit` most likely next calls after `history`: from the longest context with enough support.
    public func predict(history: ArraySlice<String>, limit: Int = 3) -> [Prediction] {
        var tables: [SpaceSaving<String>] = []
        if let last = history.last {
            if history.count >= 2, let table = followers[Context(first: history[history.endIndex - 2], second: last)] { tables.append(table) }
            if let table = followers[Context(first: "", second: last)] { tables.append(table) }
        }
        let table = tables.first { $0.total >= configuration.minimumSupport } ?? popularity
        guard table.total > 0 else { return [] }
        return table.top(limit).map { Prediction(call: $0.item, probability: $0.count / table.total) }
    }

    public var contextCount: Int { followers.count }

    /// Order-1 contexts whose most frequent follower has at least the given probability and support,
    /// strongest support first: `(after, next, probability, support)`.
    public func strongTransitions(minimumProbability: Double, minimumSupport: Double, limit: Int) -> [(String, String, Double, Double)] {
        var result: [(String, String, Double, Double)] = []
        for (context, table) in followers where context.first.isEmpty && table.total >= minimumSupport {
            guard let top = table.top(1).first else { continue }
            let probability = top.count / table.total
            if probability >= minimumProbability { result.append((context.second, top.item, probability, top.count)) }
        }
        return Array(result.sorted { ($0.3, $0.0) > ($1.3, $1.0) }.prefix(limit))
    }

    public var memoryBytes: Int {
        followers.reduce(0) { total, entry in
            total + entry.key.first.utf8.count + entry.key.second.utf8.count + 64 + entry.value.capacity * 48
        } + popularity.capacity * 48 + lastUsed.count * 48
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(configuration.contexts)
        writer.int(configuration.followersPerContext)
        writer.double(configuration.minimumSupport)
        writer.int(configuration.decayEvery)
        writer.int(clock)
        Self.encode(popularity, into: &writer)
        let keys = followers.keys.sorted { ($0.first, $0.second) < ($1.first, $1.second) }
        writer.int(keys.count)
        for key in keys {
            writer.string(key.first)
            writer.string(key.second)
            writer.int(lastUsed[key] ?? 0)
            Self.encode(followers[key]!, into: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.contexts = try reader.int()
        configuration.followersPerContext = try reader.int()
        configuration.minimumSupport = try reader.double()
        configuration.decayEvery = try reader.int()
        guard configuration.contexts > 0, configuration.decayEvery > 0 else { throw CheckpointError("next-call predictor: invalid configuration") }
        self.init(configuration: configuration)
        clock = try reader.int()
        popularity = try Self.decode(from: &reader)
        for _ in 0..<(try reader.count()) {
            let key = Context(first: try reader.string(), second: try reader.string())
            lastUsed[key] = try reader.int()
            followers[key] = try Self.decode(from: &reader)
        }
    }

    static func encode(_ table: SpaceSaving<String>, into writer: inout BinaryWriter) {
        writer.int(table.capacity)
        writer.double(table.total)
        let entries = table.entries
        writer.int(entries.count)
        for entry in entries {
            writer.string(entry.item)
            writer.double(entry.count)
            writer.double(entry.error)
        }
    }

    static func decode(from reader: inout BinaryReader) throws(CheckpointError) -> SpaceSaving<String> {
        let capacity = try reader.int()
        let total = try reader.double()
        var entries: [SpaceSaving<String>.Entry] = []
        for _ in 0..<(try reader.count()) {
            entries.append(.init(item: try reader.string(), count: try reader.double(), error: try reader.double()))
        }
        return SpaceSaving(capacity: capacity, entries: entries, total: total)
    }
}
