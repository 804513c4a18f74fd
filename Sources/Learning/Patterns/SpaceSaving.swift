/// Space-Saving top-k counting (Metwally, Agrawal & El Abbadi 2005): at most `capacity` counters; an
/// unseen item replaces the smallest counter and inherits its count (recorded as its possible
/// over-count), so every count is within `N/capacity` of the truth and every item more frequent than
/// that is kept. `decay()` halves all counts so that old patterns fade.
public struct SpaceSaving<Item: Hashable & Sendable>: Sendable {
    public struct Entry: Sendable {
        public let item: Item
        public let count: Double
        /// How much of `count` may belong to items it replaced.
        public let error: Double
    }

    public let capacity: Int
    private var counts: [Item: (count: Double, error: Double)] = [:]
    public private(set) var total = 0.0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public mutating func add(_ item: Item, weight: Double = 1) {
        total += weight
        if let current = counts[item] {
            counts[item] = (current.count + weight, current.error)
        } else if counts.count < capacity {
            counts[item] = (weight, 0)
        } else if let smallest = counts.min(by: { $0.value.count < $1.value.count }) {
            counts[smallest.key] = nil
            counts[item] = (smallest.value.count + weight, smallest.value.count)
        }
    }

    public func count(of item: Item) -> Double { counts[item]?.count ?? 0 }

    /// The `limit` largest counters, largest first (ties by insertion-independent order of count, then error).
    public func top(_ limit: Int) -> [Entry] {
        counts.map { Entry(item: $0.key, count: $0.value.count, error: $0.value.error) }
            .sorted { ($0.count, -$0.error) > ($1.count, -$1.error) }
            .prefix(limit).map { $0 }
    }

    public var entries: [Entry] { top(counts.count) }
    public var isEmpty: Bool { counts.isEmpty }

    public mutating func decay(by factor: Double = 0.5) {
        counts = counts.mapValues { ($0.count * factor, $0.error * factor) }
        total *= factor
    }

    /// Restores counters written by `entries`.
    public init(capacity: Int, entries: [Entry], total: Double) {
        self.init(capacity: capacity)
        for entry in entries.prefix(self.capacity) { counts[entry.item] = (entry.count, entry.error) }
        self.total = total
    }
}
