import Foundation

/// Estimates how often a tool's results change (a Poisson rate λ) from re-executions of the same cache
/// key: each pair of executions `I` seconds apart either returned the same result or not, and
/// `P(changed | I) = 1 − e^{−λI}`. λ̂ maximises the likelihood of the last `capacity` such observations,
/// with half a pseudo-observation of each kind at the mean interval (the same bias correction as
/// Cho & Garcia-Molina's `(n − X + 0.5)/(n + 0.5)`), so that "never changed" and "always changed" stay finite.
/// TTLs use a cautious rate: at least `3/T` for `T` seconds observed in all (the "rule of three" 95 %
/// bound when nothing changed), so a TTL grows only as evidence accumulates.
public struct ChangeRateEstimator: Sendable, Equatable {
    public let capacity: Int
    private var intervals: [Double] = []
    private var changed: [Bool] = []
    private var next = 0

    public init(capacity: Int = 512) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { intervals.count }

    public mutating func observe(interval: Double, changed didChange: Bool) {
        guard interval > 0, interval.isFinite else { return }
        if intervals.count < capacity {
            if intervals.isEmpty {
                intervals.reserveCapacity(capacity)
                changed.reserveCapacity(capacity)
            }
            intervals.append(interval)
            changed.append(didChange)
        } else {
            intervals[next] = interval
            changed[next] = didChange
        }
        next = (next + 1) % capacity
    }

    /// λ̂ in changes per second (nil without observations).
    public var rate: Double? {
        guard !intervals.isEmpty else { return nil }
        let mean = intervals.reduce(0, +) / Double(intervals.count)
        let unchangedTime = zip(intervals, changed).reduce(0.0) { $0 + ($1.1 ? 0 : $1.0) } + 0.5 * mean
        // d/dλ log L = Σ_changed I·e^{−λI}/(1 − e^{−λI}) − Σ_unchanged I, decreasing in λ.
        func slope(_ lambda: Double) -> Double {
            var sum = 0.5 * mean / expm1(lambda * mean)
            for (interval, didChange) in zip(intervals, changed) where didChange { sum += interval / expm1(lambda * interval) }
            return sum - unchangedTime
        }
        var low = log(1e-12)
        var high = log(1e6)
        for _ in 0..<80 {
            let middle = (low + high) / 2
            if slope(exp(middle)) > 0 { low = middle } else { high = middle }
        }
        return exp((low + high) / 2)
    }

    /// The TTL whose entries are stale with probability at most `staleness` when they expire:
    /// `−ln(1 − ε)/λ̂`, clamped to `bounds`; the upper bound without observations.
    public func timeToLive(staleness: Double, bounds: ClosedRange<Double>) -> Double {
        guard let cautious = cautiousRate, cautious > 0 else { return bounds.lowerBound }
        return min(bounds.upperBound, max(bounds.lowerBound, -log(1 - staleness) / cautious))
    }

    /// `max(λ̂, 3/T)`: the estimate, but never below what the observed time can rule out.
    public var cautiousRate: Double? {
        guard let rate else { return nil }
        return max(rate, 3 / intervals.reduce(0, +))
    }

    public var memoryBytes: Int { MemoryFootprint.array(intervals) + MemoryFootprint.array(changed) + 32 }

    /// `memoryBytes` with `capacity` observations (the allocator may round each array up a little).
    public static func bytes(capacity: Int) -> Int { capacity * 9 + 160 }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(capacity)
        writer.int(next)
        writer.doubles(intervals)
        writer.ints(changed.map { $0 ? 1 : 0 })
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        self.init(capacity: try reader.int())
        next = try reader.int()
        intervals = try reader.doubles()
        changed = try reader.ints().map { $0 != 0 }
        guard intervals.count == changed.count, intervals.count <= capacity, (0..<capacity).contains(next) else {
            throw CheckpointError("change-rate estimator: inconsistent observations")
        }
    }
}
