/// The last `capacity` numbers of a stream, with order statistics.
public struct BoundedRing: Sendable, Equatable {
    public let capacity: Int
    private var values: [Double] = []
    private var next = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    public mutating func append(_ value: Double) {
        if values.count < capacity {
            values.append(value)
        } else {
            values[next] = value
        }
        next = (next + 1) % capacity
    }

    /// The element of rank `floor((n − 1)·q)` (0 when empty), found by selection in O(n).
    public func quantile(_ q: Double, scratch: inout [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: values)
        let rank = min(values.count - 1, max(0, Int(Double(values.count - 1) * q)))
        return Self.select(&scratch, rank: rank)
    }

    public func quantile(_ q: Double) -> Double {
        var scratch: [Double] = []
        return quantile(q, scratch: &scratch)
    }

    /// Values in arrival order, oldest first.
    public var ordered: [Double] {
        values.count < capacity ? values : Array(values[next...] + values[..<next])
    }

    public var mean: Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

    /// Hoare-style quickselect with a median-of-three pivot.
    static func select(_ items: inout [Double], rank: Int) -> Double {
        var low = 0
        var high = items.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            if items[middle] < items[low] { items.swapAt(middle, low) }
            if items[high] < items[low] { items.swapAt(high, low) }
            if items[high] < items[middle] { items.swapAt(high, middle) }
            let pivot = items[middle]
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

    public var memoryBytes: Int { values.capacity * MemoryLayout<Double>.stride }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(capacity)
        writer.int(next)
        writer.doubles(values)
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        capacity = try reader.int()
        next = try reader.int()
        values = try reader.doubles()
        guard capacity > 0, values.count <= capacity, (0..<capacity).contains(next) else {
            throw CheckpointError("ring: inconsistent capacity \(capacity), position \(next), count \(values.count)")
        }
    }
}
