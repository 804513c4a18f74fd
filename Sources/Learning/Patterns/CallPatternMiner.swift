/// Mines call patterns from the stream of calls: per principal it follows the current session (calls
/// no more than `sessionGap` seconds apart), counts recurring tool sequences (bi- and tri-grams) in a
/// Space-Saving table, predicts the next call, clusters finished sessions, and measures its own
/// prediction accuracy prequentially: before learning a call, it checks whether the call was among the
/// top-3 predicted after the principal's previous calls.
///
/// Cacheable calls also carry a key hash; key-level transitions ("after this call with these arguments
/// comes that call with those") feed a second predictor whose strongest transitions are published for
/// cache warming.
///
/// Memory is bounded by the configuration: `principals` sessions of at most `sessionPiece` + 1 calls,
/// two Space-Saving tables of `sequences` n-grams, the two predictors' contexts and the clusters
/// (``bytes(configuration:nameBytes:)`` is the bound; about 1.8 MiB with the defaults and names of up
/// to 15 bytes, which Swift stores inline).
public struct CallPatternMiner: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var sessionGap = 300.0
        public var principals = 1024
        /// Long sessions are clustered in pieces of this many calls.
        public var sessionPiece = 16
        public var sequences = 1024
        public var accuracyWindow = 1000
        /// Sequence counts halve every this many calls.
        public var sequenceDecayEvery = 10_000
        public var predictor = { var predictor = NextCallPredictor.Configuration(); predictor.contexts = 1024; return predictor }()
        /// The key-level predictor: only the strongest follower of each context is published.
        public var keyPredictor = { var predictor = NextCallPredictor.Configuration(); predictor.contexts = 1024; predictor.followersPerContext = 4; return predictor }()
        public var clusterer = SessionClusterer.Configuration()
        public init() {}
    }

    /// A recurring sequence of one principal's calls.
    public struct Sequence: Hashable, Sendable {
        public let principal: String
        public let calls: [String]
        /// FNV-1a of the names: hashing this one word is cheaper than hashing every string.
        private let fingerprint: UInt64

        public init(principal: String, calls: [String]) {
            self.principal = principal
            self.calls = calls
            var hash = StableHash.fnv1a(principal)
            for call in calls { hash = StableHash.fold(call, into: StableHash.fold(0x1F, into: hash)) }
            fingerprint = hash
        }

        public static func == (lhs: Sequence, rhs: Sequence) -> Bool {
            lhs.fingerprint == rhs.fingerprint && lhs.principal == rhs.principal && lhs.calls == rhs.calls
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    }

    /// A key-level transition worth warming the cache for.
    public struct Transition: Sendable, Equatable {
        public let afterTool: String
        public let afterKey: String
        public let nextTool: String
        public let nextKey: String
        public let probability: Double
        public let support: Double
    }

    struct Session: Sendable {
        var calls: [String] = []
        /// The last call's key token (tool and key hash), empty when it was not cacheable.
        var lastKey = ""
        var last = 0.0

        /// Room for a whole piece of calls (none for a placeholder).
        init(piece: Int = 0) {
            if piece > 0 { calls.reserveCapacity(piece + 1) }
        }
    }

    public let configuration: Configuration
    private var sessions: [String: Session] = [:]
    /// Recurring sequences per principal.
    public private(set) var sequences: SpaceSaving<Sequence>
    /// Recurring sequences over all principals.
    public private(set) var overall: SpaceSaving<[String]>
    private var calls = 0
    public private(set) var predictor: NextCallPredictor
    private var keyPredictor: NextCallPredictor
    public private(set) var clusterer: SessionClusterer
    private var outcomes: [Bool] = []
    private var outcomeCursor = 0
    public private(set) var predictionsScored = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        sequences = SpaceSaving(capacity: configuration.sequences)
        overall = SpaceSaving(capacity: configuration.sequences)
        predictor = NextCallPredictor(configuration: configuration.predictor)
        keyPredictor = NextCallPredictor(configuration: configuration.keyPredictor)
        clusterer = SessionClusterer(configuration: configuration.clusterer)
    }

    /// One call by `principal` at `time` (seconds); `key` is the call's cache-key hash when cacheable.
    public mutating func observe(principal: String, tool: String, key: String? = nil, at time: Double) {
        let slot: Dictionary<String, Session>.Index
        if let known = sessions.index(forKey: principal) {
            slot = known
        } else {
            if sessions.count >= configuration.principals { forgetIdlestPrincipals() }
            if sessions.isEmpty { sessions.reserveCapacity(configuration.principals) }
            sessions[principal] = Session(piece: configuration.sessionPiece)
            slot = sessions.index(forKey: principal)!
        }
        // Moved out (and back below) so that the session's arrays are mutated in place.
        var session = Session()
        swap(&session, &sessions.values[slot])
        if !session.calls.isEmpty && time - session.last > configuration.sessionGap {
            clusterer.observe(session.calls)
            session = Session(piece: configuration.sessionPiece)
        }
        let history = session.calls[...]
        if !history.isEmpty {
            let hit = predictor.predict(history: history).contains { $0.call == tool }
            record(hit)
        }
        predictor.observe(history: history, next: tool)
        for length in 1...2 where history.count >= length {
            var calls = Array(history.suffix(length))
            calls.append(tool)
            sequences.add(Sequence(principal: principal, calls: calls))
            overall.add(calls)
        }
        calls += 1
        if calls % configuration.sequenceDecayEvery == 0 {
            sequences.decay()
            overall.decay()
        }
        let token = key.map { "\(tool) \($0)" } ?? ""
        if !token.isEmpty && !session.lastKey.isEmpty {
            keyPredictor.observe(after: session.lastKey, next: token)
        }
        session.calls.append(tool)
        session.lastKey = token
        if session.calls.count > configuration.sessionPiece {
            // Long sessions are clustered in pieces; the last two calls stay as context.
            clusterer.observe(session.calls)
            session.calls.removeFirst(session.calls.count - 2)
        }
        session.last = max(session.last, time)
        sessions.values[slot] = session
    }

    /// Ends the sessions of the idlest tenth of the principals at once (clustering them), so that a
    /// stream of new principals costs O(log n) per principal, not a scan each.
    private mutating func forgetIdlestPrincipals() {
        let idlest = sessions.sorted { $0.value.last < $1.value.last }.prefix(max(1, configuration.principals / 10))
        for (principal, session) in idlest {
            if !session.calls.isEmpty { clusterer.observe(session.calls) }
            sessions[principal] = nil
        }
    }

    private mutating func record(_ hit: Bool) {
        if outcomes.count < configuration.accuracyWindow {
            outcomes.append(hit)
        } else {
            outcomes[outcomeCursor] = hit
            outcomeCursor = (outcomeCursor + 1) % configuration.accuracyWindow
        }
        predictionsScored += 1
    }

    /// Share of the last `accuracyWindow` calls that were among the top-3 predictions (nil before any).
    public var accuracy: Double? {
        outcomes.isEmpty ? nil : Double(outcomes.filter { $0 }.count) / Double(outcomes.count)
    }

    /// The next calls predicted for `principal` after its current session (or after `recent`).
    public func predict(principal: String, recent: [String]? = nil, limit: Int = 3) -> [NextCallPredictor.Prediction] {
        let history = recent ?? sessions[principal]?.calls ?? []
        return predictor.predict(history: history[...], limit: limit)
    }

    /// Transitions between cacheable calls with probability ≥ `minimumProbability` and support ≥ `minimumSupport`.
    public func warmingTransitions(minimumProbability: Double = 0.5, minimumSupport: Double = 5, limit: Int = 256) -> [Transition] {
        keyPredictor.strongTransitions(minimumProbability: minimumProbability, minimumSupport: minimumSupport, limit: limit).compactMap { after, next, probability, support in
            let a = after.split(separator: " ", maxSplits: 1)
            let b = next.split(separator: " ", maxSplits: 1)
            guard a.count == 2, b.count == 2 else { return nil }
            return Transition(afterTool: String(a[0]), afterKey: String(a[1]), nextTool: String(b[0]), nextKey: String(b[1]), probability: probability, support: support)
        }
    }

    public var principalCount: Int { sessions.count }

    /// Bytes held: sessions (with the strings' heap storage), the n-gram tables, predictors, clusters and
    /// the accuracy window.
    public var memoryBytes: Int {
        var strings = 0
        for (principal, session) in sessions {
            strings += MemoryFootprint.heap(principal) + MemoryFootprint.heap(session.lastKey) + MemoryFootprint.array(session.calls)
            for call in session.calls { strings += MemoryFootprint.heap(call) }
        }
        for entry in sequences.entries {
            strings += MemoryFootprint.heap(entry.item.principal) + MemoryFootprint.array(entry.item.calls)
            for call in entry.item.calls { strings += MemoryFootprint.heap(call) }
        }
        for entry in overall.entries {
            strings += MemoryFootprint.array(entry.item)
            for call in entry.item { strings += MemoryFootprint.heap(call) }
        }
        return MemoryFootprint.dictionary(sessions) + strings + SpaceSaving<Sequence>.bytes(capacity: sequences.capacity)
            + SpaceSaving<[String]>.bytes(capacity: overall.capacity) + predictor.memoryBytes + keyPredictor.memoryBytes + clusterer.memoryBytes
            + MemoryFootprint.array(outcomes)
    }

    /// The most `memoryBytes` can be under `configuration` when no name is longer than `nameBytes`.
    public static func bytes(configuration: Configuration, nameBytes: Int) -> Int {
        let name = MemoryFootprint.heap(String(repeating: "x", count: nameBytes))
        // A session's calls array has room for `sessionPiece` + 1 calls.
        let session = 32 + (configuration.sessionPiece + 1) * MemoryLayout<String>.stride + (configuration.sessionPiece + 3) * name
        let sessions = MemoryFootprint.dictionary(capacity: configuration.principals, key: MemoryLayout<String>.stride, value: MemoryLayout<Session>.stride)
            + configuration.principals * session
        // An n-gram: an array of up to 3 names (with a principal's name in `sequences`).
        let gram = 32 + 4 * MemoryLayout<String>.stride + 4 * name
        let grams = SpaceSaving<Sequence>.bytes(capacity: configuration.sequences) + SpaceSaving<[String]>.bytes(capacity: configuration.sequences)
            + 2 * configuration.sequences * gram
        return sessions + grams + NextCallPredictor.bytes(configuration: configuration.predictor, nameBytes: nameBytes)
            + NextCallPredictor.bytes(configuration: configuration.keyPredictor, nameBytes: 2 * nameBytes + 1)
            + SessionClusterer.bytes(configuration: configuration.clusterer, nameBytes: nameBytes) + 32 + 2 * configuration.accuracyWindow
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.double(configuration.sessionGap)
        writer.int(configuration.principals)
        writer.int(configuration.sequences)
        writer.int(configuration.accuracyWindow)
        writer.int(configuration.sequenceDecayEvery)
        writer.int(calls)
        writer.int(sessions.count)
        for name in sessions.keys.sorted() {
            let session = sessions[name]!
            writer.string(name)
            writer.int(session.calls.count)
            for (index, call) in session.calls.enumerated() {
                writer.string(call)
                writer.string(index == session.calls.count - 1 ? session.lastKey : "")
            }
            writer.double(session.last)
        }
        writer.double(sequences.total)
        let entries = sequences.entries
        writer.int(entries.count)
        for entry in entries {
            writer.string(entry.item.principal)
            writer.int(entry.item.calls.count)
            for call in entry.item.calls { writer.string(call) }
            writer.double(entry.count)
            writer.double(entry.error)
        }
        writer.double(overall.total)
        let totals = overall.entries
        writer.int(totals.count)
        for entry in totals {
            writer.int(entry.item.count)
            for call in entry.item { writer.string(call) }
            writer.double(entry.count)
            writer.double(entry.error)
        }
        predictor.encode(into: &writer)
        keyPredictor.encode(into: &writer)
        clusterer.encode(into: &writer)
        writer.ints(outcomes.map { $0 ? 1 : 0 })
        writer.int(outcomeCursor)
        writer.int(predictionsScored)
    }

    public init(from reader: inout BinaryReader, configuration base: Configuration = Configuration()) throws(CheckpointError) {
        var configuration = base
        configuration.sessionGap = try reader.double()
        configuration.principals = try reader.int()
        configuration.sequences = try reader.int()
        configuration.accuracyWindow = try reader.int()
        configuration.sequenceDecayEvery = try reader.int()
        guard configuration.accuracyWindow > 0, configuration.sequences > 0, configuration.sequenceDecayEvery > 0 else { throw CheckpointError("pattern miner: invalid configuration") }
        self.init(configuration: configuration)
        calls = try reader.int()
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            var session = Session()
            for _ in 0..<(try reader.count()) {
                session.calls.append(try reader.string())
                session.lastKey = try reader.string()
            }
            session.last = try reader.double()
            sessions[name] = session
        }
        let total = try reader.double()
        var entries: [SpaceSaving<Sequence>.Entry] = []
        for _ in 0..<(try reader.count()) {
            let principal = try reader.string()
            var calls: [String] = []
            for _ in 0..<(try reader.count()) { calls.append(try reader.string()) }
            entries.append(.init(item: Sequence(principal: principal, calls: calls), count: try reader.double(), error: try reader.double()))
        }
        sequences = SpaceSaving(capacity: configuration.sequences, entries: entries, total: total)
        let overallTotal = try reader.double()
        var overallEntries: [SpaceSaving<[String]>.Entry] = []
        for _ in 0..<(try reader.count()) {
            var calls: [String] = []
            for _ in 0..<(try reader.count()) { calls.append(try reader.string()) }
            overallEntries.append(.init(item: calls, count: try reader.double(), error: try reader.double()))
        }
        overall = SpaceSaving(capacity: configuration.sequences, entries: overallEntries, total: overallTotal)
        predictor = try NextCallPredictor(from: &reader)
        keyPredictor = try NextCallPredictor(from: &reader)
        clusterer = try SessionClusterer(from: &reader)
        outcomes = try reader.ints().map { $0 != 0 }
        outcomeCursor = try reader.int()
        predictionsScored = try reader.int()
        guard outcomes.count <= configuration.accuracyWindow, outcomeCursor >= 0, outcomeCursor < max(1, configuration.accuracyWindow) else {
            throw CheckpointError("pattern miner: inconsistent accuracy window")
        }
    }
}
