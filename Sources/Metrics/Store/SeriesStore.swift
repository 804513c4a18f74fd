import Synchronization

/// Recent history of every scraped series, bounded in both series count and points per series.
/// Points older than the retention are dropped as new ones arrive.
final class SeriesStore: Sendable {
    struct Point: Sendable {
        let time: Double
        let value: Double
    }

    let retention: Double
    let maxSeries: Int
    let pointsPerSeries: Int
    private let state = Mutex<State>(State())

    private struct State {
        var series: [SeriesKey: Ring] = [:]
        var byName: [String: Set<SeriesKey>] = [:]
        var types: [String: String] = [:]
        var rejected = 0
    }

    /// A fixed-capacity ring of points, oldest first when read.
    struct Ring: Sendable {
        var points: [Point] = []
        var start = 0
        let capacity: Int

        mutating func append(_ point: Point) {
            if points.count < capacity {
                points.append(point)
            } else {
                points[start] = point
                start = (start + 1) % capacity
            }
        }

        var ordered: [Point] {
            start == 0 ? points : Array(points[start...] + points[..<start])
        }

        var last: Point? {
            guard !points.isEmpty else { return nil }
            return points[(start + points.count - 1) % points.count]
        }
    }

    /// - Parameters:
    ///   - retention: seconds of history kept.
    ///   - maxSeries: series beyond this are rejected (and counted).
    ///   - pointsPerSeries: ring capacity per series.
    init(retention: Double = 1800, maxSeries: Int = 50_000, pointsPerSeries: Int = 720) {
        self.retention = retention
        self.maxSeries = maxSeries
        self.pointsPerSeries = pointsPerSeries
    }

    func append(_ samples: [(SeriesKey, Double)], at time: Double, types: [String: String] = [:]) {
        state.withLock { state in
            for (name, type) in types { state.types[name] = type }
            for (key, value) in samples {
                if state.series[key] == nil {
                    guard state.series.count < maxSeries else {
                        state.rejected += 1
                        continue
                    }
                    state.series[key] = Ring(capacity: pointsPerSeries)
                    state.byName[key.name, default: []].insert(key)
                }
                state.series[key]!.append(Point(time: time, value: value))
            }
        }
    }

    /// Drops series whose newest point is older than the retention.
    func expire(now: Double) {
        state.withLock { state in
            for (key, ring) in state.series where (ring.last?.time ?? 0) < now - retention {
                state.series[key] = nil
                state.byName[key.name]?.remove(key)
            }
        }
    }

    /// Points in `[from, to]` of every series named `name` that `keep` accepts.
    func select(name: String, from: Double, to: Double, where keep: (SeriesKey) -> Bool) -> [(SeriesKey, [Point])] {
        state.withLock { state in
            (state.byName[name] ?? []).compactMap { key -> (SeriesKey, [Point])? in
                guard keep(key), let ring = state.series[key] else { return nil }
                let points = ring.ordered.filter { $0.time >= from && $0.time <= to }
                return points.isEmpty ? nil : (key, points)
            }
        }
    }

    /// Every series whose name passes `keep` (for selectors by `__name__` regex).
    func names(where keep: (String) -> Bool) -> [String] {
        state.withLock { state in state.byName.keys.filter { keep($0) && !(state.byName[$0]?.isEmpty ?? true) }.sorted() }
    }

    /// The newest point of each series, for `/federate`.
    func latest() -> [(SeriesKey, Point)] {
        state.withLock { state in
            state.series.compactMap { key, ring in ring.last.map { (key, $0) } }.sorted { $0.0.description < $1.0.description }
        }
    }

    func type(of name: String) -> String? { state.withLock { $0.types[name] } }

    var counts: (series: Int, rejected: Int) { state.withLock { ($0.series.count, $0.rejected) } }
}
