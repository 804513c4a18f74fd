import Foundation
import Testing

@testable import Learning

struct CacheModelTests {
    @Test func changeRateEstimateFollowsTheTrueRate() {
        var random = SplitMix64(seed: 9)
        var estimator = ChangeRateEstimator()
        let rate = 1.0 / 60
        for _ in 0..<500 {
            let interval = 5 + random.nextDouble() * 100
            estimator.observe(interval: interval, changed: random.nextDouble() < 1 - exp(-rate * interval))
        }
        let estimate = try! #require(estimator.rate)
        #expect(abs(estimate - rate) / rate < 0.25)
        // ε = 1 %: TTL = −ln(0.99)/λ ≈ 0.6 s.
        let ttl = estimator.timeToLive(staleness: 0.01, bounds: 0.1...86_400)
        #expect(ttl > 0.3 && ttl < 1.0)
    }

    @Test func ttlGrowsOnlyWithEvidenceWhenNothingChanges() {
        var estimator = ChangeRateEstimator()
        #expect(estimator.timeToLive(staleness: 0.01, bounds: 1...86_400) == 1)
        estimator.observe(interval: 60, changed: false)
        let early = estimator.timeToLive(staleness: 0.01, bounds: 1...86_400)
        for _ in 0..<200 { estimator.observe(interval: 60, changed: false) }
        let later = estimator.timeToLive(staleness: 0.01, bounds: 1...86_400)
        #expect(later > 10 * early)
        #expect(later <= 86_400)
    }

    @Test func frequencySketchCountsAndHalves() {
        var sketch = FrequencySketch(capacity: 64)
        for _ in 0..<5 { sketch.increment(42) }
        #expect(sketch.frequency(42) == 5)
        #expect(sketch.frequency(7) <= 1)
        for _ in 0..<20 { sketch.increment(42) }
        #expect(sketch.frequency(42) == 15)
        // 640 additions trigger halving: the old key's count falls.
        for key in 1000..<1700 { sketch.increment(UInt64(key)) }
        #expect(sketch.frequency(42) < 15)
    }

    @Test func toolPolicyReflectsChangeRateAndReuse() throws {
        var model = CacheModel()
        // "docs" never changes and is always re-requested; "quotes" changes every time.
        for step in 0..<300 {
            let time = Double(step) * 10
            model.observe(tool: "docs", key: UInt64(step % 5), result: 1, cacheHit: false, at: time)
            model.observe(tool: "quotes", key: UInt64(step % 5), result: UInt64(step), cacheHit: false, at: time)
            model.observe(tool: "oneoff", key: UInt64(step), result: 1, cacheHit: false, at: time)
        }
        let docs = try #require(model.policy(for: "docs"))
        let quotes = try #require(model.policy(for: "quotes"))
        #expect(docs.ttlSeconds > 10 * quotes.ttlSeconds)
        #expect(docs.admitAfter == 1)
        #expect(try #require(model.policy(for: "oneoff")).admitAfter == 2)
        #expect(model.policy(for: "unknown") == nil)
        var writer = BinaryWriter()
        model.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try CacheModel(from: &reader) == model)
    }

    @Test func learnedPolicyServesFewerStaleResultsThanLRU() {
        let trace = CacheSimulation.Trace(
            name: "short", tools: Array(CacheSimulation.traces[0].tools.prefix(2)), requestRate: 50, duration: 1800, oneHitShare: 0.3, capacity: 500
        )
        let lru = CacheSimulation.run(trace, policy: .lru)
        let learned = CacheSimulation.run(trace, policy: .learned)
        #expect(learned.staleShareOfRequests < lru.staleShareOfRequests / 2)
        #expect(learned.hitRatio > 0)
    }

    @Test func oneKeyTableBoundsWhatAllToolsRemember() throws {
        var configuration = CacheModel.Configuration()
        configuration.keys = 16
        var model = CacheModel(configuration: configuration)
        for step in 0..<1_000 { model.observe(tool: "read_file", key: UInt64(step), result: 1, cacheHit: false, at: Double(step)) }
        #expect(model.remembered.count == 16)
        #expect(model.tools["read_file"]?.requests == 1_000)
        // The newest key is remembered, so its repeat counts as reuse; the oldest was forgotten.
        model.observe(tool: "read_file", key: 999, result: 1, cacheHit: false, at: 1_000)
        model.observe(tool: "read_file", key: 0, result: 1, cacheHit: false, at: 1_001)
        #expect(model.tools["read_file"]?.repeats == 1)
        // The same key hash of another tool is another key; the table stays at 16 over both tools.
        model.observe(tool: "search", key: 999, result: 1, cacheHit: false, at: 1_002)
        #expect(model.tools["search"]?.repeats == 0)
        #expect(model.remembered.count == 16)
        #expect(model.remembered.last?.key == CacheModel.combine(tool: "search", key: 999))
        var writer = BinaryWriter()
        model.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try CacheModel(from: &reader) == model)
    }
}
