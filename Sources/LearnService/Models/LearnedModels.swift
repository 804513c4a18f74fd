import Learning
import SwitchboardCore

/// Everything the learn service has learned, as one value: it is updated by the learner, read for
/// predictions and policies, and checkpointed (``encode()``) as a model version.
struct LearnedModels: Sendable {
    /// Settings from the service configuration; not part of a checkpoint.
    struct Settings: Sendable {
        var probation = 750
        var maxSeries = 256
        var bucketSeconds = 300.0
        /// Most tools with their own load forecast (the total is always forecast).
        var maxForecasts = 64
    }

    /// One watched series: what is measured of which subject. Checkpoints name it `scope␟subject␟measure`.
    struct WatchKey: Hashable, Sendable {
        let scope: String
        let subject: String
        let measure: Anomaly.Measure

        var name: String { "\(scope)\u{1F}\(subject)\u{1F}\(measure.rawValue)" }

        init(scope: String, subject: String, measure: Anomaly.Measure) {
            self.scope = scope
            self.subject = subject
            self.measure = measure
        }

        init(name: String) throws(CheckpointError) {
            let parts = name.split(separator: "\u{1F}", omittingEmptySubsequences: false)
            guard parts.count == 3, let measure = Anomaly.Measure(rawValue: String(parts[2])) else {
                throw CheckpointError("watched series '\(name.prefix(80))' is not scope␟subject␟measure")
            }
            self.init(scope: String(parts[0]), subject: String(parts[1]), measure: measure)
        }
    }

    /// Calls counted in the open forecast bucket of one tool.
    struct Bucket: Sendable {
        var index: Int
        var calls: Double
    }

    /// Checkpoint header; /2 since the cache model keeps one key table for all tools.
    static let magic = "switchboard-learn-models/2"
    /// The forecast key of all calls together.
    static let total = "*"

    let settings: Settings
    private(set) var routing = RoutingModel()
    private(set) var cache = CacheModel()
    private(set) var patterns = CallPatternMiner()
    private(set) var forecasts: [String: LoadForecaster] = [:]
    private var buckets: [String: Bucket] = [:]
    private(set) var watches: [WatchKey: SeriesWatch] = [:]
    /// The latest event time seen: the models' clock.
    private(set) var clock = 0.0
    private(set) var events = 0

    init(settings: Settings) {
        self.settings = settings
    }

    /// Learns from one call; returns the anomalies it revealed.
    mutating func apply(_ observation: Observation) -> [Anomaly] {
        let event = observation.event
        clock = max(clock, event.timestamp)
        events += 1
        var anomalies: [Anomaly] = []
        let failed = event.outcome == .error
        let ran = !event.cacheHit && event.outcome != .denied && event.outcome != .limited
        if ran {
            if !event.backend.isEmpty {
                routing.observe(replica: event.backend, latency: event.latencyMilliseconds / 1000, failed: failed, at: event.timestamp)
                watch("replica", event.backend, .latency, event.latencyMilliseconds, at: event.timestamp, into: &anomalies)
            }
            watch("tool", event.tool, .latency, event.latencyMilliseconds, at: event.timestamp, into: &anomalies)
            watch("tool", event.tool, .errorRate, failed ? 1 : 0, at: event.timestamp, into: &anomalies)
        }
        if let key = observation.cacheKey {
            cache.observe(tool: event.tool, key: StableHash.fnv1a(key), result: observation.resultHash, cacheHit: event.cacheHit, at: event.timestamp)
        }
        if !event.principal.isEmpty {
            patterns.observe(principal: event.principal, tool: event.tool, key: observation.cacheKey, at: event.timestamp)
        }
        count(Self.total, at: event.timestamp)
        if forecasts[event.tool] != nil || forecasts.count < settings.maxForecasts + 1 { count(event.tool, at: event.timestamp) }
        return anomalies
    }

    /// Learns from one replica's resource sample (each measure its own series, subject the replica's
    /// name); returns the anomalies it revealed. The models' clock follows call events only.
    mutating func apply(_ sample: ResourceSample) -> [Anomaly] {
        var anomalies: [Anomaly] = []
        for (name, value) in sample.measures {
            guard let measure = Anomaly.Measure(rawValue: name) else { continue }
            watch("replica", sample.replica, measure, value, at: sample.timestamp, into: &anomalies)
        }
        return anomalies
    }

    private mutating func watch(_ scope: String, _ subject: String, _ measure: Anomaly.Measure, _ value: Double, at time: Double, into anomalies: inout [Anomaly]) {
        let key = WatchKey(scope: scope, subject: subject, measure: measure)
        let (scored, score, alert): (Double, Double, Double)
        // Updated in place: a copy out of the dictionary would copy the detector's buffers on every event.
        if let index = watches.index(forKey: key) {
            (scored, score, alert) = Self.step(&watches.values[index], measure, value)
        } else {
            guard watches.count < settings.maxSeries else { return }
            var fresh = SeriesWatch(probation: settings.probation)
            (scored, score, alert) = Self.step(&fresh, measure, value)
            watches[key] = fresh
        }
        if score >= alert {
            anomalies.append(Anomaly(id: 0, scope: scope, subject: subject, measure: measure, timestamp: time, value: scored, score: score))
        }
    }

    /// Feeds one value to a watch; returns the value scored, its anomaly score and the alert threshold.
    private static func step(_ series: inout SeriesWatch, _ measure: Anomaly.Measure, _ value: Double) -> (Double, Double, Double) {
        var scored = value
        if measure == .errorRate {
            series.errorRate += 0.05 * (value - series.errorRate)
            scored = series.errorRate
        }
        return (scored, series.detector.process(scored), series.detector.configuration.alertThreshold)
    }

    /// Counts a call into its tool's bucket; a finished bucket (and each empty one after it, up to a
    /// day) is fed to the tool's forecaster.
    private mutating func count(_ name: String, at time: Double) {
        let index = Int((time / settings.bucketSeconds).rounded(.down))
        guard var bucket = buckets[name] else {
            buckets[name] = Bucket(index: index, calls: 1)
            return
        }
        if index > bucket.index {
            var forecaster = forecasts[name] ?? LoadForecaster(configuration: .init(periods: LoadForecaster.Configuration.periods(bucketSeconds: settings.bucketSeconds), horizon: 1))
            forecaster.observe(bucket.calls)
            let gap = min(index - bucket.index - 1, max(1, Int(86_400 / settings.bucketSeconds)))
            for _ in 0..<gap { forecaster.observe(0) }
            forecasts[name] = forecaster
            bucket = Bucket(index: index, calls: 0)
        }
        bucket.calls += 1
        buckets[name] = bucket
    }

    /// Bytes held by all models.
    var memoryBytes: Int {
        routing.memoryBytes + cache.memoryBytes + patterns.memoryBytes + forecasts.values.reduce(0) { $0 + $1.memoryBytes }
            + watches.values.reduce(0) { $0 + $1.detector.memoryBytes + 32 } + buckets.count * 48
    }

    // MARK: Checkpoints

    func encode() -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 * 1024)
        writer.string(Self.magic)
        writer.double(clock)
        writer.int(events)
        routing.encode(into: &writer)
        cache.encode(into: &writer)
        patterns.encode(into: &writer)
        writer.int(forecasts.count)
        for name in forecasts.keys.sorted() {
            writer.string(name)
            forecasts[name]!.encode(into: &writer)
        }
        writer.int(buckets.count)
        for name in buckets.keys.sorted() {
            writer.string(name)
            writer.int(buckets[name]!.index)
            writer.double(buckets[name]!.calls)
        }
        writer.int(watches.count)
        for (name, watch) in watches.map({ ($0.key.name, $0.value) }).sorted(by: { $0.0 < $1.0 }) {
            writer.string(name)
            watch.encode(into: &writer)
        }
        return writer.bytes
    }

    init(checkpoint bytes: [UInt8], settings: Settings) throws(CheckpointError) {
        var reader = BinaryReader(bytes)
        let magic = try reader.string()
        guard magic == Self.magic else {
            if magic.hasPrefix("switchboard-learn-models/") { throw CheckpointError("checkpoint format '\(magic.prefix(40))' is not this version's '\(Self.magic)'") }
            throw CheckpointError("not a learn-service checkpoint (header '\(magic.prefix(40))')")
        }
        self.init(settings: settings)
        clock = try reader.double()
        events = try reader.int()
        routing = try RoutingModel(from: &reader)
        cache = try CacheModel(from: &reader)
        patterns = try CallPatternMiner(from: &reader)
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            forecasts[name] = try LoadForecaster(from: &reader)
        }
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            buckets[name] = Bucket(index: try reader.int(), calls: try reader.double())
        }
        for _ in 0..<(try reader.count()) {
            let key = try WatchKey(name: try reader.string())
            watches[key] = try SeriesWatch(from: &reader)
        }
        guard reader.isAtEnd else { throw CheckpointError("checkpoint has trailing bytes") }
    }
}
