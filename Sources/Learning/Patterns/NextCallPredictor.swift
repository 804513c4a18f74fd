/// Predicts a principal's next tool call from its last two (a Markov model of order 2 backing off to
/// order 1 and to overall popularity). Each context keeps a small Space-Saving table of the calls that
/// followed it; contexts are bounded and the least recently used are forgotten; counts halve (rounded
/// down, as in ``SpaceSaving``) every `decayEvery` observations so that the model follows changing habits.
///
/// Contexts live in slots of flat arrays (`followersPerContext` followers per slot, found by a linear
/// scan of at most that many names), so learning allocates nothing for a context that is already known
/// and a forgotten context's slot is reused.
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

    /// One follower of a context.
    struct Follower {
        let name: String
        let count: Int32
        let error: Float
    }

    public let configuration: Configuration
    private let width: Int
    /// Slot of each remembered context.
    private var slots: [Context: Int32] = [:]
    /// By slot: its context, when it was last used (-1: free), its observations and followers in use.
    private var contexts: [Context] = []
    private var lastUsed: [Int] = []
    private var totals: [Double] = []
    private var sizes: [Int32] = []
    /// By slot × `followersPerContext`.
    private var names: [String] = []
    private var counts: [Int32] = []
    private var errors: [Float] = []
    private var free: [Int32] = []
    private var popularity = SpaceSaving<String>(capacity: 256)
    private var clock = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        width = max(1, configuration.followersPerContext)
    }

    /// Learns that `next` followed `history` (oldest first; only the last two count).
    public mutating func observe(history: ArraySlice<String>, next: String) {
        clock += 1
        popularity.add(next)
        if let last = history.last {
            record(Context(first: "", second: last), next)
            if history.count >= 2 { record(Context(first: history[history.endIndex - 2], second: last), next) }
        }
        if clock % configuration.decayEvery == 0 { decay() }
    }

    /// Learns that `next` followed `previous` (an order-1 context only).
    public mutating func observe(after previous: String, next: String) {
        clock += 1
        popularity.add(next)
        record(Context(first: "", second: previous), next)
        if clock % configuration.decayEvery == 0 { decay() }
    }

    private mutating func record(_ context: Context, _ next: String) {
        let slot: Int
        if let known = slots[context] {
            slot = Int(known)
        } else {
            if slots.count >= configuration.contexts { forgetLeastRecentlyUsed() }
            slot = claim(context)
        }
        lastUsed[slot] = clock
        count(next, in: slot)
    }

    /// A slot for a new context: a free one, or a new one at the end.
    private mutating func claim(_ context: Context) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = Int(reused)
            contexts[slot] = context
        } else {
            if contexts.isEmpty { reserve() }
            slot = contexts.count
            contexts.append(context)
            lastUsed.append(0)
            totals.append(0)
            sizes.append(0)
            names.append(contentsOf: repeatElement("", count: width))
            counts.append(contentsOf: repeatElement(0, count: width))
            errors.append(contentsOf: repeatElement(0, count: width))
        }
        totals[slot] = 0
        sizes[slot] = 0
        slots[context] = Int32(slot)
        return slot
    }

    /// Sizes the slot arrays for every context at once (their memory is the model's bound).
    private mutating func reserve() {
        let count = configuration.contexts
        slots.reserveCapacity(count)
        contexts.reserveCapacity(count)
        lastUsed.reserveCapacity(count)
        totals.reserveCapacity(count)
        sizes.reserveCapacity(count)
        free.reserveCapacity(count / 10 + 1)
        names.reserveCapacity(count * width)
        counts.reserveCapacity(count * width)
        errors.reserveCapacity(count * width)
    }

    /// Forgets the least recently used tenth of the contexts at once, so eviction stays cheap on average.
    private mutating func forgetLeastRecentlyUsed() {
        let count = max(1, configuration.contexts / 10)
        // The count-th smallest last use, by selection rather than sorting: slots used before it go, then
        // slots used at it until `count` have gone.
        var uses = slots.values.map { lastUsed[Int($0)] }
        let threshold = Self.select(&uses, rank: min(count, uses.count) - 1)
        var victims = slots.values.filter { lastUsed[Int($0)] < threshold }
        for slot in slots.values where victims.count < count && lastUsed[Int(slot)] == threshold { victims.append(slot) }
        for victim in victims {
            let slot = Int(victim)
            slots[contexts[slot]] = nil
            contexts[slot] = Context(first: "", second: "")
            lastUsed[slot] = -1
            for index in (slot * width)..<(slot * width + Int(sizes[slot])) { names[index] = "" }
            sizes[slot] = 0
            free.append(victim)
        }
    }

    /// The element of rank `rank` (0-based) in ascending order; reorders `items`.
    static func select(_ items: inout [Int], rank: Int) -> Int {
        var low = 0
        var high = items.count - 1
        while low < high {
            let pivot = items[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while items[i] < pivot { i += 1 }
                while items[j] > pivot { j -= 1 }
                if i <= j {
                    items.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if rank <= j {
                high = j
            } else if rank >= i {
                low = i
            } else {
                return items[rank]
            }
        }
        return items[rank]
    }

    /// Space-Saving on the slot's followers: an unseen call replaces the smallest and inherits its count.
    private mutating func count(_ next: String, in slot: Int) {
        totals[slot] += 1
        let base = slot * width
        let size = Int(sizes[slot])
        for index in base..<(base + size) where names[index] == next {
            counts[index] += 1
            return
        }
        if size < width {
            names[base + size] = next
            counts[base + size] = 1
            errors[base + size] = 0
            sizes[slot] += 1
            return
        }
        var smallest = base
        for index in (base + 1)..<(base + size) where counts[index] < counts[smallest] { smallest = index }
        errors[smallest] = Float(counts[smallest])
        counts[smallest] += 1
        names[smallest] = next
    }

    private mutating func decay() {
        for slot in lastUsed.indices where lastUsed[slot] >= 0 {
            totals[slot] /= 2
            for index in (slot * width)..<(slot * width + Int(sizes[slot])) {
                counts[index] /= 2
                errors[index] = min(errors[index] / 2, Float(counts[index]))
            }
        }
        popularity.decay()
    }

    /// The slot's followers above zero, most frequent first (ties: smaller error first).
    private func followers(of slot: Int) -> [Follower] {
        let base = slot * width
        return (base..<(base + Int(sizes[slot]))).compactMap { index in
            counts[index] > 0 ? Follower(name: names[index], count: counts[index], error: errors[index]) : nil
        }.sorted { ($0.count, -$0.error) > ($1.count, -$1.error) }
    }

    /// The `limit` most likely next calls after `history`: from the longest context with enough support.
    public func predict(history: ArraySlice<String>, limit: Int = 3) -> [Prediction] {
        var chosen: Int?
        if let last = history.last {
            if history.count >= 2, let slot = slots[Context(first: history[history.endIndex - 2], second: last)], totals[Int(slot)] >= configuration.minimumSupport {
                chosen = Int(slot)
            } else if let slot = slots[Context(first: "", second: last)], totals[Int(slot)] >= configuration.minimumSupport {
                chosen = Int(slot)
            }
        }
        guard let slot = chosen else {
            guard popularity.total > 0 else { return [] }
            return popularity.top(limit).map { Prediction(call: $0.item, probability: $0.count / popularity.total) }
        }
        let total = totals[slot]
        guard total > 0 else { return [] }
        return followers(of: slot).prefix(limit).map { Prediction(call: $0.name, probability: Double($0.count) / total) }
    }

    public var contextCount: Int { slots.count }

    /// Order-1 contexts whose most frequent follower has at least the given probability and support,
    /// strongest support first: `(after, next, probability, support)`.
    public func strongTransitions(minimumProbability: Double, minimumSupport: Double, limit: Int) -> [(String, String, Double, Double)] {
        var result: [(String, String, Double, Double)] = []
        for (context, slot) in slots where context.first.isEmpty && totals[Int(slot)] >= minimumSupport {
            guard let top = followers(of: Int(slot)).first else { continue }
            let probability = Double(top.count) / totals[Int(slot)]
            if probability >= minimumProbability { result.append((context.second, top.name, probability, Double(top.count))) }
        }
        return Array(result.sorted { ($0.3, $0.0) > ($1.3, $1.0) }.prefix(limit))
    }

    /// Bytes held: the context index and slot arrays, the strings' heap storage, the popularity table.
    public var memoryBytes: Int {
        var strings = 0
        for slot in contexts.indices where lastUsed[slot] >= 0 {
            strings += MemoryFootprint.heap(contexts[slot].first) + MemoryFootprint.heap(contexts[slot].second)
            for index in (slot * width)..<(slot * width + Int(sizes[slot])) { strings += MemoryFootprint.heap(names[index]) }
        }
        for entry in popularity.entries { strings += MemoryFootprint.heap(entry.item) }
        return MemoryFootprint.dictionary(slots) + MemoryFootprint.array(contexts) + MemoryFootprint.array(lastUsed) + MemoryFootprint.array(totals)
            + MemoryFootprint.array(sizes) + MemoryFootprint.array(names) + MemoryFootprint.array(counts) + MemoryFootprint.array(errors)
            + MemoryFootprint.array(free) + SpaceSaving<String>.bytes(capacity: popularity.capacity) + strings
    }

    /// The most `memoryBytes` can be with every context and follower in use and every name at most
    /// `nameBytes` UTF-8 bytes long.
    public static func bytes(configuration: Configuration, nameBytes: Int) -> Int {
        let contexts = configuration.contexts
        let width = max(1, configuration.followersPerContext)
        let name = MemoryFootprint.heap(String(repeating: "x", count: nameBytes))
        let perSlot = MemoryLayout<Context>.stride + 8 + 8 + 4 + width * (MemoryLayout<String>.stride + 4 + 4)
        return MemoryFootprint.dictionary(capacity: contexts, key: MemoryLayout<Context>.stride, value: 4)
            + contexts * perSlot + (contexts / 10 + 1) * 4 + 8 * 32 + contexts * (2 + width) * name
            + SpaceSaving<String>.bytes(capacity: 256) + 256 * name
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(configuration.contexts)
        writer.int(configuration.followersPerContext)
        writer.double(configuration.minimumSupport)
        writer.int(configuration.decayEvery)
        writer.int(clock)
        Self.encode(popularity, into: &writer)
        let live = slots.sorted { ($0.key.first, $0.key.second) < ($1.key.first, $1.key.second) }
        writer.int(live.count)
        for (context, slot) in live {
            writer.string(context.first)
            writer.string(context.second)
            writer.int(lastUsed[Int(slot)])
            // The layout of an encoded SpaceSaving table.
            let followers = followers(of: Int(slot))
            writer.int(width)
            writer.double(totals[Int(slot)])
            writer.int(followers.count)
            for follower in followers {
                writer.string(follower.name)
                writer.double(Double(follower.count))
                writer.double(Double(follower.error))
            }
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.contexts = try reader.int()
        configuration.followersPerContext = try reader.int()
        configuration.minimumSupport = try reader.double()
        configuration.decayEvery = try reader.int()
        guard configuration.contexts > 0, configuration.decayEvery > 0, configuration.followersPerContext > 0 else {
            throw CheckpointError("next-call predictor: invalid configuration")
        }
        self.init(configuration: configuration)
        clock = try reader.int()
        popularity = try Self.decode(from: &reader)
        for _ in 0..<(try reader.count()) {
            let context = Context(first: try reader.string(), second: try reader.string())
            let used = try reader.int()
            let table = try Self.decode(from: &reader)
            guard slots[context] == nil, slots.count < configuration.contexts else { throw CheckpointError("next-call predictor: too many or repeated contexts") }
            let slot = claim(context)
            lastUsed[slot] = max(0, used)
            totals[slot] = table.total
            for entry in table.entries.prefix(width) {
                let index = slot * width + Int(sizes[slot])
                names[index] = entry.item
                counts[index] = Int32(clamping: Int(entry.count))
                errors[index] = Float(entry.error)
                sizes[slot] += 1
            }
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
