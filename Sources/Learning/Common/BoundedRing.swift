/// The last `capacity` numbers of a stream, with order statistics.
public struct BoundedRing: Sendable, Equatable {
    public let capacity: Int
    private var values: [Double] = []
    private var next = 0
    /// The same values in ascending order (NaN last), kept by binary-search insertion and removal so
    /// that a quantile is a lookup.
    private var sorted: [Double] = []

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    public mutating func append(_ value: Double) {
        if values.count < capacity {
            values.append(value)
        } else {
            let evicted = values[next]
            let position = Self.position(of: evicted, in: sorted)
            if position < sorted.count && Self.same(sorted[position], evicted) {
                sorted.remove(at: position)
            } else if let any = sorted.firstIndex(where: { Self.same($0, evicted) }) {
                sorted.remove(at: any)
            }
            values[next] = value
        }
        sorted.insert(value, at: Self.position(of: value, in: sorted))
        next = (next + 1) % capacity
    }

    /// The first index whose element is not below `value` (NaN sorts after everything).
    private static func position(of value: Double, in items: [Double]) -> Int {
        var low = 0
        var high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle] < value || (value.isNaN && !items[middle].isNaN) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }

    /// The element of rank `floor((n − 1)·q)` (0 when empty).
    public func quantile(_ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int(Double(sorted.count - 1) * q)))]
    }

    /// Values in arrival order, oldest first.
    public var ordered: [Double] {
        values.count < capacity ? values : Array(values[next...] + values[..<next])
    }

    public var mean: Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

    public var memoryBytes: Int { (values.capacity + sorted.capacity) * MemoryLayout<Double>.stride }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(capacity)
        writer.int(next)
        writer.doubles(values)
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        capacity = try reader.int()
        next = try reader.int()
        values = try reader.doubles()
        sorted = values.sorted { $0 < $1 || (!$0.isNaN && $1.isNaN) }
        guard capacity > 0, values.count <= capacity, (0..<capacity).contains(next) else {
            throw CheckpointError("ring: inconsistent capacity \(capacity), position \(next), count \(values.count)")
        }
    }
}
