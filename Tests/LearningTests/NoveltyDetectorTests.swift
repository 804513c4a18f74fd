import Foundation
import Testing

@testable import Learning

struct NoveltyDetectorTests {
    /// A daily-like cycle of 48 rows with a little deterministic noise.
    func cycle(_ row: Int, seed: UInt64 = 7) -> Double {
        var random = SplitMix64(seed: seed &+ UInt64(row))
        return 100 + 40 * sin(Double(row) * 2 * .pi / 48) + random.nextDouble() * 4
    }

    @Test func staysSilentDuringProbation() {
        var detector = NoveltyDetector(configuration: .init(probation: 300))
        for row in 0..<300 {
            // Even wild values during probation are learned, not reported.
            #expect(detector.process(row % 50 == 0 ? 10_000 : cycle(row)) == 0)
        }
    }

    @Test func flagsANewLevelOnceAndThenRests() {
        var detector = NoveltyDetector(configuration: .init(probation: 300))
        var scores: [Double] = []
        for row in 0..<2000 { scores.append(detector.process(row >= 1500 && row < 1510 ? 400 : cycle(row))) }
        let alerts = scores.indices.filter { scores[$0] >= detector.configuration.alertThreshold }
        #expect(alerts.first == 1500)
        // The rest period (0.2 × probation = 60 rows) keeps the spike to one alert.
        #expect(alerts.filter { (1500..<1560).contains($0) }.count == 1)
        #expect(alerts.filter { $0 < 1500 }.isEmpty)
    }

    @Test func flagsAChangeOfShapeWithinTheUsualRange() throws {
        var detector = NoveltyDetector(configuration: .init(probation: 300))
        var first: Int?
        for row in 0..<3000 {
            // From row 2000 the cycle is flattened to its mean level: no new extreme, a new shape.
            let value = row >= 2000 ? 100 + Double(row % 3) : cycle(row)
            if detector.process(value) >= detector.configuration.alertThreshold, first == nil { first = row }
        }
        let detected = try #require(first)
        #expect((2000..<2100).contains(detected))
    }

    @Test func aRepeatingSeriesRaisesNoAlert() {
        var detector = NoveltyDetector(configuration: .init(probation: 300))
        var alerts = 0
        for row in 0..<5000 where detector.process(cycle(row)) >= detector.configuration.alertThreshold { alerts += 1 }
        #expect(alerts <= 2)
    }

    @Test func checkpointRoundTripIsExact() throws {
        var detector = NoveltyDetector(configuration: .init(probation: 200))
        for row in 0..<1200 { _ = detector.process(cycle(row)) }
        var writer = BinaryWriter()
        detector.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        var restored = try NoveltyDetector(from: &reader)
        #expect(reader.isAtEnd)
        for row in 1200..<2500 {
            let value = row == 2000 ? 900 : cycle(row)
            #expect(detector.process(value).bitPattern == restored.process(value).bitPattern)
        }
        var again = BinaryWriter()
        restored.encode(into: &again)
        var original = BinaryWriter()
        detector.encode(into: &original)
        #expect(again.bytes == original.bytes)
    }

    @Test func corruptCheckpointsAreRejectedNotTrusted() {
        var detector = NoveltyDetector(configuration: .init(probation: 100))
        for row in 0..<500 { _ = detector.process(cycle(row)) }
        var writer = BinaryWriter()
        detector.encode(into: &writer)
        var truncated = BinaryReader(Array(writer.bytes.prefix(writer.bytes.count / 2)))
        #expect(throws: CheckpointError.self) { try NoveltyDetector(from: &truncated) }
    }

    @Test func memoryIsBoundedByCapacity() {
        var configuration = NoveltyDetector.Configuration(probation: 8)
        configuration.capacity = 128
        var detector = NoveltyDetector(configuration: configuration)
        for row in 0..<1000 { _ = detector.process(cycle(row)) }
        let settled = detector.memoryBytes
        for row in 1000..<4000 { _ = detector.process(cycle(row)) }
        #expect(detector.memoryBytes == settled)
        // Two channels of 128 windows × 24 floats, plus their distance rings.
        #expect(settled >= 2 * 128 * (24 * 4 + 8))
        #expect(settled < 2 * 128 * (24 * 4 + 8) * 3 / 2)
    }

    @Test func ringQuantileMatchesSorting() {
        var random = SplitMix64(seed: 42)
        var ring = BoundedRing(capacity: 257)
        var all: [Double] = []
        for _ in 0..<1000 {
            let value = random.nextDouble()
            ring.append(value)
            all.append(value)
        }
        let kept = Array(all.suffix(257)).sorted()
        for q in [0.0, 0.1, 0.5, 0.95, 1.0] {
            #expect(ring.quantile(q) == kept[Int(Double(kept.count - 1) * q)])
        }
        #expect(ring.ordered == Array(all.suffix(257)))
    }

    @Test func ringQuantileFollowsEvictionsOfRepeatedValues() throws {
        var random = SplitMix64(seed: 7)
        var ring = BoundedRing(capacity: 31)
        var all: [Double] = []
        for step in 0..<2_000 {
            let value = Double(random.next() % 6)
            ring.append(value)
            all.append(value)
            let kept = Array(all.suffix(31)).sorted()
            for q in [0.0, 0.5, 0.95, 1.0] { #expect(ring.quantile(q) == kept[Int(Double(kept.count - 1) * q)], "step \(step), q \(q)") }
        }
        var writer = BinaryWriter()
        ring.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        let restored = try BoundedRing(from: &reader)
        #expect(restored == ring)
    }
}
