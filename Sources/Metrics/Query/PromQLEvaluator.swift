import Foundation

/// A query result: an instant vector, a range vector, a scalar or a string.
enum QueryValue: Sendable {
    case vector([VectorSample])
    case matrix([(SeriesKey, [SeriesStore.Point])])
    case scalar(Double)
    case string(String)
}

/// One element of an instant vector. `name` is nil once an operation dropped the metric name.
struct VectorSample: Sendable {
    var name: String?
    var labels: [SeriesKey.Label]
    var value: Double

    subscript(label: String) -> String? {
        labels.first { $0.name == label }?.value
    }

    var key: SeriesKey { SeriesKey(name: name ?? "", sortedLabels: labels) }
}

/// Evaluates ``PromQLExpression``s against a ``SeriesStore`` at an instant, with Prometheus semantics
/// for staleness lookback, counter rate extrapolation, histogram quantiles and vector matching.
struct PromQLEvaluator {
    let store: SeriesStore
    /// How far back an instant selector looks for the latest point.
    var lookback: Double = 300

    func evaluate(_ text: String, at time: Double) throws(PromQLError) -> QueryValue {
        try evaluate(PromQLParser.parse(text), at: time)
    }

    func evaluate(_ expression: PromQLExpression, at time: Double) throws(PromQLError) -> QueryValue {
        switch expression {
        case .number(let value):
            return .scalar(value)
        case .string(let value):
            return .string(value)
        case .negate(let inner):
            switch try evaluate(inner, at: time) {
            case .scalar(let value): return .scalar(-value)
            case .vector(let samples): return .vector(samples.map { VectorSample(name: nil, labels: $0.labels, value: -$0.value) })
            default: throw PromQLError("unary minus needs a scalar or an instant vector")
            }
        case .selector(let name, let matchers, let range, let offset):
            let at = time - offset
            let selected = select(name: name, matchers: matchers, from: at - (range ?? lookback), to: at)
            if range != nil { return .matrix(selected) }
            return .vector(selected.compactMap { key, points in
                points.last.map { VectorSample(name: key.name, labels: key.labels, value: $0.value) }
            })
        case .call(let function, let arguments):
            return try call(function, arguments, at: time)
        case .aggregate(let operation, let grouping, let parameter, let inner):
            guard case .vector(let samples) = try evaluate(inner, at: time) else { throw PromQLError("\(operation) needs an instant vector") }
            let parameterValue = try parameter.map { p throws(PromQLError) -> Double in
                guard case .scalar(let value) = try evaluate(p, at: time) else { throw PromQLError("\(operation) parameter must be a scalar") }
                return value
            }
            return .vector(try aggregate(operation, grouping: grouping, parameter: parameterValue, samples))
        case .binary(let op, let left, let right, let matching):
            return try binary(op, try evaluate(left, at: time), try evaluate(right, at: time), matching: matching)
        }
    }

    // MARK: Selection

    private func select(name: String?, matchers: [LabelMatcher], from: Double, to: Double) -> [(SeriesKey, [SeriesStore.Point])] {
        let nameMatchers = matchers.filter { $0.label == "__name__" }
        let labelMatchers = matchers.filter { $0.label != "__name__" }
        let names: [String]
        if let name {
            names = [name]
        } else {
            names = store.names { candidate in nameMatchers.allSatisfy { $0.matches(candidate) } }
        }
        return names.flatMap { metric in
            store.select(name: metric, from: from, to: to) { key in
                labelMatchers.allSatisfy { $0.matches(key[$0.label]) }
            }
        }.sorted { $0.0.description < $1.0.description }
    }

    // MARK: Functions

    private func call(_ function: String, _ arguments: [PromQLExpression], at time: Double) throws(PromQLError) -> QueryValue {
        func argument(_ index: Int) throws(PromQLError) -> QueryValue {
            guard index < arguments.count else { throw PromQLError("\(function) needs \(index + 1) argument(s)") }
            return try evaluate(arguments[index], at: time)
        }
        func matrix(_ index: Int) throws(PromQLError) -> (values: [(SeriesKey, [SeriesStore.Point])], range: Double) {
            guard index < arguments.count, case .selector(_, _, let range?, _) = arguments[index],
                case .matrix(let values) = try evaluate(arguments[index], at: time)
            else { throw PromQLError("\(function) needs a range vector such as metric[5m]") }
            return (values, range)
        }
        func vector(_ index: Int) throws(PromQLError) -> [VectorSample] {
            guard case .vector(let samples) = try argument(index) else { throw PromQLError("\(function) needs an instant vector") }
            return samples
        }
        func scalar(_ index: Int) throws(PromQLError) -> Double {
            guard case .scalar(let value) = try argument(index) else { throw PromQLError("\(function) needs a scalar argument") }
            return value
        }
        func perSeries(_ transform: ([SeriesStore.Point], Double) -> Double?) throws(PromQLError) -> QueryValue {
            let (values, range) = try matrix(0)
            return .vector(values.compactMap { key, points in
                transform(points, range).map { VectorSample(name: nil, labels: key.labels, value: $0) }
            })
        }
        func mapValues(_ transform: (Double) -> Double) throws(PromQLError) -> QueryValue {
            .vector(try vector(0).map { VectorSample(name: nil, labels: $0.labels, value: transform($0.value)) })
        }
        switch function {
        case "rate": return try perSeries { points, range in Self.extrapolatedDelta(points, from: time - range, to: time, counter: true, rate: true) }
        case "increase": return try perSeries { points, range in Self.extrapolatedDelta(points, from: time - range, to: time, counter: true, rate: false) }
        case "delta": return try perSeries { points, range in Self.extrapolatedDelta(points, from: time - range, to: time, counter: false, rate: false) }
        case "irate":
            return try perSeries { points, _ in
                guard points.count >= 2 else { return nil }
                let last = points[points.count - 1]
                let previous = points[points.count - 2]
                let change = last.value < previous.value ? last.value : last.value - previous.value
                return last.time > previous.time ? change / (last.time - previous.time) : nil
            }
        case "avg_over_time": return try perSeries { points, _ in points.map(\.value).reduce(0, +) / Double(points.count) }
        case "max_over_time": return try perSeries { points, _ in points.map(\.value).max() }
        case "min_over_time": return try perSeries { points, _ in points.map(\.value).min() }
        case "sum_over_time": return try perSeries { points, _ in points.map(\.value).reduce(0, +) }
        case "count_over_time": return try perSeries { points, _ in Double(points.count) }
        case "last_over_time": return try perSeries { points, _ in points.last?.value }
        case "histogram_quantile": return .vector(Self.histogramQuantile(try scalar(0), try vector(1)))
        case "abs": return try mapValues(abs)
        case "ceil": return try mapValues { $0.rounded(.up) }
        case "floor": return try mapValues { $0.rounded(.down) }
        case "round": return try mapValues { $0.rounded() }
        case "sqrt": return try mapValues { $0.squareRoot() }
        case "exp": return try mapValues { Foundation.exp($0) }
        case "ln": return try mapValues { Foundation.log($0) }
        case "clamp_min":
            let bound = try scalar(1)
            return try mapValues { max($0, bound) }
        case "clamp_max":
            let bound = try scalar(1)
            return try mapValues { min($0, bound) }
        case "time": return .scalar(time)
        case "vector": return .vector([VectorSample(name: nil, labels: [], value: try scalar(0))])
        case "scalar":
            let samples = try vector(0)
            return .scalar(samples.count == 1 ? samples[0].value : .nan)
        case "absent":
            return .vector(try vector(0).isEmpty ? [VectorSample(name: nil, labels: [], value: 1)] : [])
        default:
            throw PromQLError("unknown function '\(function)'")
        }
    }

    /// Prometheus's `extrapolatedRate`: the increase between the first and last point, adjusted for
    /// counter resets and extrapolated towards the range's edges (at most half an average interval,
    /// never below zero for counters).
    static func extrapolatedDelta(_ points: [SeriesStore.Point], from start: Double, to end: Double, counter: Bool, rate: Bool) -> Double? {
        guard points.count >= 2 else { return nil }
        let first = points[0]
        let last = points[points.count - 1]
        var result = last.value - first.value
        if counter {
            var previous = first.value
            for point in points.dropFirst() {
                if point.value < previous { result += previous }
                previous = point.value
            }
        }
        var durationToStart = first.time - start
        let durationToEnd = end - last.time
        let sampled = last.time - first.time
        guard sampled > 0 else { return nil }
        let averageInterval = sampled / Double(points.count - 1)
        if counter, result > 0, first.value >= 0 {
            let durationToZero = sampled * (first.value / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let threshold = averageInterval * 1.1
        var interval = sampled
        interval += durationToStart < threshold ? durationToStart : averageInterval / 2
        interval += durationToEnd < threshold ? durationToEnd : averageInterval / 2
        result *= interval / sampled
        return rate ? result / (end - start) : result
    }

    /// Prometheus's `bucketQuantile`: linear interpolation inside the bucket holding the quantile.
    static func histogramQuantile(_ q: Double, _ samples: [VectorSample]) -> [VectorSample] {
        var groups: [[SeriesKey.Label]: [(le: Double, count: Double)]] = [:]
        for sample in samples {
            guard let leText = sample["le"] else { continue }
            let le = leText == "+Inf" ? Double.infinity : Double(leText) ?? .nan
            guard !le.isNaN else { continue }
            groups[sample.labels.filter { $0.name != "le" }, default: []].append((le, sample.value))
        }
        return groups.compactMap { labels, unsorted -> VectorSample? in
            var buckets = unsorted.sorted { $0.le < $1.le }
            guard let top = buckets.last, top.le == .infinity else { return nil }
            // Counts must not decrease; scrape skew is smoothed like Prometheus does.
            for index in buckets.indices.dropFirst() where buckets[index].count < buckets[index - 1].count {
                buckets[index].count = buckets[index - 1].count
            }
            if q < 0 { return VectorSample(name: nil, labels: labels, value: -.infinity) }
            if q > 1 { return VectorSample(name: nil, labels: labels, value: .infinity) }
            let total = top.count
            guard total > 0 else { return VectorSample(name: nil, labels: labels, value: .nan) }
            let rank = q * total
            guard let index = buckets.firstIndex(where: { $0.count >= rank }) else { return nil }
            if index == buckets.count - 1 {
                return VectorSample(name: nil, labels: labels, value: buckets.count >= 2 ? buckets[buckets.count - 2].le : .nan)
            }
            var lower = 0.0
            var countBelow = 0.0
            if index > 0 {
                lower = buckets[index - 1].le
                countBelow = buckets[index - 1].count
            } else if buckets[0].le <= 0 {
                return VectorSample(name: nil, labels: labels, value: buckets[0].le)
            }
            let upper = buckets[index].le
            let inBucket = buckets[index].count - countBelow
            let value = inBucket > 0 ? lower + (upper - lower) * ((rank - countBelow) / inBucket) : upper
            return VectorSample(name: nil, labels: labels, value: value)
        }.sorted { $0.key.description < $1.key.description }
    }

    // MARK: Aggregation

    private func aggregate(_ operation: String, grouping: PromQLExpression.Grouping, parameter: Double?, _ samples: [VectorSample]) throws(PromQLError)
        -> [VectorSample]
    {
        var groups: [[SeriesKey.Label]: [VectorSample]] = [:]
        var order: [[SeriesKey.Label]] = []
        for sample in samples {
            let key: [SeriesKey.Label]
            switch grouping {
            case .none: key = []
            case .by(let labels): key = sample.labels.filter { labels.contains($0.name) }
            case .without(let labels): key = sample.labels.filter { !labels.contains($0.name) }
            }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(sample)
        }
        var result: [VectorSample] = []
        for key in order {
            let members = groups[key]!
            let values = members.map(\.value)
            switch operation {
            case "sum": result.append(VectorSample(name: nil, labels: key, value: values.reduce(0, +)))
            case "avg": result.append(VectorSample(name: nil, labels: key, value: values.reduce(0, +) / Double(values.count)))
            case "min": result.append(VectorSample(name: nil, labels: key, value: values.min()!))
            case "max": result.append(VectorSample(name: nil, labels: key, value: values.max()!))
            case "count": result.append(VectorSample(name: nil, labels: key, value: Double(values.count)))
            case "quantile":
                guard let q = parameter else { throw PromQLError("quantile needs a parameter") }
                let sorted = values.sorted()
                let rank = q * Double(sorted.count - 1)
                let lower = Int(rank.rounded(.down))
                let upper = min(lower + 1, sorted.count - 1)
                result.append(VectorSample(name: nil, labels: key, value: sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))))
            case "topk", "bottomk":
                guard let k = parameter else { throw PromQLError("\(operation) needs a parameter") }
                let ordered = members.sorted { operation == "topk" ? $0.value > $1.value : $0.value < $1.value }
                result.append(contentsOf: ordered.prefix(max(0, Int(k))))
            default:
                throw PromQLError("unknown aggregation \(operation)")
            }
        }
        return result
    }

    // MARK: Binary operators

    private func binary(_ op: String, _ left: QueryValue, _ right: QueryValue, matching: PromQLExpression.VectorMatching) throws(PromQLError) -> QueryValue {
        let comparison = ["==", "!=", ">", "<", ">=", "<="].contains(op)
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            guard let value = Self.apply(op, a, b) else { throw PromQLError("operator \(op) is not defined between scalars") }
            return .scalar(comparison ? (value != 0 ? 1 : 0) : value)
        case (.vector(let samples), .scalar(let b)):
            return .vector(scalarOperation(op, samples, scalar: b, scalarOnLeft: false, comparison: comparison, returnBool: matching.returnBool))
        case (.scalar(let a), .vector(let samples)):
            return .vector(scalarOperation(op, samples, scalar: a, scalarOnLeft: true, comparison: comparison, returnBool: matching.returnBool))
        case (.vector(let lhs), .vector(let rhs)):
            return .vector(try vectorOperation(op, lhs, rhs, matching: matching, comparison: comparison))
        default:
            throw PromQLError("operator \(op) needs scalars or instant vectors")
        }
    }

    private func scalarOperation(
        _ op: String, _ samples: [VectorSample], scalar: Double, scalarOnLeft: Bool, comparison: Bool, returnBool: Bool
    ) -> [VectorSample] {
        samples.compactMap { sample in
            let (a, b) = scalarOnLeft ? (scalar, sample.value) : (sample.value, scalar)
            guard let result = Self.apply(op, a, b) else { return nil }
            if comparison {
                if returnBool { return VectorSample(name: nil, labels: sample.labels, value: result) }
                return result == 1 ? sample : nil
            }
            return VectorSample(name: nil, labels: sample.labels, value: result)
        }
    }

    private func vectorOperation(
        _ op: String, _ lhs: [VectorSample], _ rhs: [VectorSample], matching: PromQLExpression.VectorMatching, comparison: Bool
    ) throws(PromQLError) -> [VectorSample] {
        func signature(_ sample: VectorSample) -> [SeriesKey.Label] {
            switch matching.labels {
            case .all: return sample.labels
            case .on(let names): return sample.labels.filter { names.contains($0.name) }
            case .ignoring(let names): return sample.labels.filter { !names.contains($0.name) }
            }
        }
        var right: [[SeriesKey.Label]: VectorSample] = [:]
        for sample in rhs {
            let key = signature(sample)
            if right[key] != nil, !["and", "or", "unless"].contains(op) {
                throw PromQLError("many-to-many matching: several right-hand samples share the labels {\(key.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ","))}")
            }
            right[key] = sample
        }
        switch op {
        case "and": return lhs.filter { right[signature($0)] != nil }
        case "unless": return lhs.filter { right[signature($0)] == nil }
        case "or":
            let leftKeys = Set(lhs.map(signature))
            return lhs + rhs.filter { !leftKeys.contains(signature($0)) }
        default: break
        }
        return lhs.compactMap { sample -> VectorSample? in
            guard let other = right[signature(sample)], let result = Self.apply(op, sample.value, other.value) else { return nil }
            let labels: [SeriesKey.Label]
            if case .on = matching.labels { labels = signature(sample) } else { labels = sample.labels }
            if comparison {
                if matching.returnBool { return VectorSample(name: nil, labels: labels, value: result) }
                return result == 1 ? VectorSample(name: sample.name, labels: sample.labels, value: sample.value) : nil
            }
            return VectorSample(name: nil, labels: labels, value: result)
        }
    }

    /// Arithmetic gives the value; comparisons give 1 or 0.
    static func apply(_ op: String, _ a: Double, _ b: Double) -> Double? {
        switch op {
        case "+": return a + b
        case "-": return a - b
        case "*": return a * b
        case "/": return a / b
        case "%": return fmod(a, b)
        case "^": return pow(a, b)
        case "==": return a == b ? 1 : 0
        case "!=": return a != b ? 1 : 0
        case ">": return a > b ? 1 : 0
        case "<": return a < b ? 1 : 0
        case ">=": return a >= b ? 1 : 0
        case "<=": return a <= b ? 1 : 0
        default: return nil
        }
    }
}
