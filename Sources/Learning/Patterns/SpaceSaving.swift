/// Space-Saving top-k counting (Metwally, Agrawal & El Abbadi 2005): at most `capacity` counters; an
/// unseen item replaces the smallest counter and inherits its count (recorded as its possible
/// over-count), so every count is within `N/capacity` of the truth and every item more frequent than
/// that is kept. `decay()` halves all counts so that old patterns fade.
///
/// Counters are kept in the paper's Stream-Summary: buckets of equal count in a doubly linked list
/// ordered by count, each holding a linked list of its counters. Nodes and buckets live in flat arrays
/// addressed by index and are reused, so an update allocates nothing once the table is full and takes
/// O(1): the smallest counter is the first of the first bucket, and an increment moves a counter to the
/// next bucket or to a new one right after its own. Counts stay integers for that: `decay()` rounds the
/// halved counts down (a count may then fall short of the halved truth by less than one) and counters
/// that reach zero are the first replaced and are not listed by `top`.
public struct SpaceSaving<Item: Hashable & Sendable>: Sendable {
    public struct Entry: Sendable {
        public let item: Item
        public let count: Double
        /// How much of `count` may belong to items it replaced.
        public let error: Double
    }

    struct Node: Sendable {
        var error: Double
        var bucket: Int32
        var previous: Int32
        var next: Int32
    }

    struct Bucket: Sendable {
        var count: Int
        /// First node of the bucket.
        var first: Int32
        /// The bucket with the next smaller count.
        var smaller: Int32
        /// The bucket with the next larger count.
        var larger: Int32
    }

    public let capacity: Int
    public private(set) var total = 0.0
    /// Node of each counted item.
    private var slots: [Item: Int32] = [:]
    private var items: [Item] = []
    private var nodes: [Node] = []
    private var buckets: [Bucket] = []
    private var freeBuckets: [Int32] = []
    private var smallest: Int32 = -1
    private var largest: Int32 = -1

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Counts one occurrence of `item`.
    public mutating func add(_ item: Item) {
        total += 1
        if let node = slots[item] {
            move(node, to: buckets[Int(nodes[Int(node)].bucket)].count + 1)
        } else if items.count < capacity {
            let node = Int32(items.count)
            items.append(item)
            nodes.append(Node(error: 0, bucket: -1, previous: -1, next: -1))
            slots[item] = node
            insert(node, count: 1, after: -1)
        } else {
            // The first counter of the smallest bucket is replaced.
            let node = buckets[Int(smallest)].first
            let count = buckets[Int(smallest)].count
            slots[items[Int(node)]] = nil
            items[Int(node)] = item
            slots[item] = node
            nodes[Int(node)].error = Double(count)
            move(node, to: count + 1)
        }
    }

    public func count(of item: Item) -> Double {
        guard let node = slots[item] else { return 0 }
        return Double(buckets[Int(nodes[Int(node)].bucket)].count)
    }

    /// The `limit` largest counters, largest first (ties by count, then smaller error first).
    public func top(_ limit: Int) -> [Entry] {
        guard limit > 0 else { return [] }
        var result: [Entry] = []
        var bucket = largest
        while bucket >= 0 && result.count < limit && buckets[Int(bucket)].count > 0 {
            let count = Double(buckets[Int(bucket)].count)
            let start = result.count
            var node = buckets[Int(bucket)].first
            while node >= 0 {
                result.append(Entry(item: items[Int(node)], count: count, error: nodes[Int(node)].error))
                node = nodes[Int(node)].next
            }
            if result.count - start > 1 { result[start...].sort { $0.error < $1.error } }
            bucket = buckets[Int(bucket)].smaller
        }
        if result.count > limit { result.removeLast(result.count - limit) }
        return result
    }

    /// Every counter above zero, largest first.
    public var entries: [Entry] { top(items.count) }
    public var isEmpty: Bool { items.isEmpty }
    /// Counters in use (at most `capacity`).
    public var counters: Int { items.count }

    /// Bytes held at capacity, besides what the items themselves point to: the item index (a hash table
    /// of at most twice `capacity` slots), the items, the nodes and the buckets.
    public static func bytes(capacity: Int) -> Int {
        let item = MemoryLayout<Item>.stride
        return capacity * (2 * (item + 4) + item + MemoryLayout<Node>.stride + MemoryLayout<Bucket>.stride + 4) + 256
    }

    /// Halves every count (rounding down) and the total.
    public mutating func decay() {
        var bucket = smallest
        while bucket >= 0 {
            buckets[Int(bucket)].count /= 2
            var node = buckets[Int(bucket)].first
            while node >= 0 {
                // count − error stays at most the halved truth.
                nodes[Int(node)].error = min(nodes[Int(node)].error / 2, Double(buckets[Int(bucket)].count))
                node = nodes[Int(node)].next
            }
            bucket = buckets[Int(bucket)].larger
        }
        total /= 2
        // Halving keeps the order; merge neighbours that rounding made equal.
        bucket = smallest
        while bucket >= 0 {
            let larger = buckets[Int(bucket)].larger
            if larger >= 0 && buckets[Int(larger)].count == buckets[Int(bucket)].count {
                while buckets[Int(larger)].first >= 0 {
                    let node = buckets[Int(larger)].first
                    detach(node)
                    attach(node, to: bucket)
                }
            } else {
                bucket = larger
            }
        }
    }

    /// Restores counters written by `entries` (counts rounded down to whole numbers).
    public init(capacity: Int, entries: [Entry], total: Double) {
        self.init(capacity: capacity)
        var seen = Set<Item>()
        for entry in entries.prefix(self.capacity).sorted(by: { $0.count < $1.count }) where seen.insert(entry.item).inserted {
            let count = entry.count.isFinite ? Int(max(0, min(entry.count, 1e15)).rounded(.down)) : 0
            let node = Int32(items.count)
            items.append(entry.item)
            nodes.append(Node(error: entry.error.isFinite ? min(max(0, entry.error), Double(count)) : 0, bucket: -1, previous: -1, next: -1))
            slots[entry.item] = node
            insert(node, count: count, after: largest)
        }
        self.total = total
    }

    // MARK: Stream-Summary

    /// Moves `node` from its bucket to the bucket of `count` (larger than its current count).
    private mutating func move(_ node: Int32, to count: Int) {
        let bucket = nodes[Int(node)].bucket
        // Search from the node's own bucket unless detaching frees it.
        let shared = buckets[Int(bucket)].first != node || nodes[Int(node)].next >= 0
        let start = shared ? bucket : buckets[Int(bucket)].smaller
        detach(node)
        insert(node, count: count, after: start)
    }

    /// Puts a detached `node` into the bucket of `count`, searching upwards from bucket `start` (whose
    /// count is below `count`; -1 for the smallest end). One step at most for an increment by one.
    private mutating func insert(_ node: Int32, count: Int, after start: Int32) {
        var below = start
        var above = start >= 0 ? buckets[Int(start)].larger : smallest
        while above >= 0 && buckets[Int(above)].count < count {
            below = above
            above = buckets[Int(above)].larger
        }
        if above >= 0 && buckets[Int(above)].count == count {
            attach(node, to: above)
            return
        }
        let fresh: Int32
        let bucket = Bucket(count: count, first: -1, smaller: below, larger: above)
        if let free = freeBuckets.popLast() {
            fresh = free
            buckets[Int(free)] = bucket
        } else {
            fresh = Int32(buckets.count)
            buckets.append(bucket)
        }
        if below >= 0 { buckets[Int(below)].larger = fresh } else { smallest = fresh }
        if above >= 0 { buckets[Int(above)].smaller = fresh } else { largest = fresh }
        attach(node, to: fresh)
    }

    private mutating func attach(_ node: Int32, to bucket: Int32) {
        let first = buckets[Int(bucket)].first
        nodes[Int(node)].bucket = bucket
        nodes[Int(node)].previous = -1
        nodes[Int(node)].next = first
        if first >= 0 { nodes[Int(first)].previous = node }
        buckets[Int(bucket)].first = node
    }

    /// Takes `node` out of its bucket; an emptied bucket leaves the list and is freed.
    private mutating func detach(_ node: Int32) {
        let bucket = nodes[Int(node)].bucket
        let previous = nodes[Int(node)].previous
        let next = nodes[Int(node)].next
        if previous >= 0 { nodes[Int(previous)].next = next } else { buckets[Int(bucket)].first = next }
        if next >= 0 { nodes[Int(next)].previous = previous }
        nodes[Int(node)].bucket = -1
        guard buckets[Int(bucket)].first < 0 else { return }
        let smaller = buckets[Int(bucket)].smaller
        let larger = buckets[Int(bucket)].larger
        if smaller >= 0 { buckets[Int(smaller)].larger = larger } else { smallest = larger }
        if larger >= 0 { buckets[Int(larger)].smaller = smaller } else { largest = smaller }
        freeBuckets.append(bucket)
    }
}
