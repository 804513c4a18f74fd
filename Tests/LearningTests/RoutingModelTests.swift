import Testing

@testable import Learning

struct RoutingModelTests {
    @Test func squareRootRuleFavoursFasterReplicasAndBeatsProportionalSplit() {
        let rates = [150.0, 100, 80, 50]
        let load = 190.0
        let shares = RoutingAllocator.optimalShares(rates: rates, load: load)
        #expect(abs(shares.reduce(0, +) - 1) < 1e-9)
        #expect(shares[0] > shares[1] && shares[1] > shares[2] && shares[2] > shares[3])
        let proportional = rates.map { $0 / rates.reduce(0, +) }
        let optimal = RoutingAllocator.meanLatency(rates: rates, shares: shares, load: load)
        #expect(optimal < RoutingAllocator.meanLatency(rates: rates, shares: proportional, load: load))
        // An overloaded split has no finite latency.
        #expect(RoutingAllocator.meanLatency(rates: rates, shares: [0, 0, 0, 1], load: load) == .infinity)
    }

    @Test func lightLoadGoesOnlyToTheFastestReplicas() {
        let shares = RoutingAllocator.optimalShares(rates: [100, 100, 5], load: 10)
        #expect(shares[2] == 0)
        #expect(abs(shares[0] - 0.5) < 1e-9)
    }

    @Test func failingReplicaIsPenalisedButKeepsTheFloor() {
        let weights = RoutingAllocator.weights(rates: [100, 100], errorRates: [0, 1], load: 50, floor: 0.02)
        #expect(abs(weights.reduce(0, +) - 1) < 1e-9)
        #expect(weights[1] < 0.03 && weights[1] > 0.01)
    }

    @Test func estimatorRecoversServiceRateFromLatencyAndThroughput() {
        var estimator = ReplicaEstimator(halfLife: 5)
        // 40 calls per second for 40 s (8 half-lives), each taking 50 ms: M/M/1 gives μ = λ + 1/W = 40 + 20 = 60.
        for step in 0..<1600 { estimator.observe(latency: 0.05, failed: step % 10 == 0, at: Double(step) / 40) }
        let rate = try! #require(estimator.serviceRate(at: 40))
        #expect(abs(rate - 60) < 6)
        #expect(abs(estimator.errorRate - 0.1) < 0.02)
    }

    @Test func slowReplicaLosesWeightAndCheckpointRoundTrips() throws {
        var model = RoutingModel()
        for step in 0..<600 {
            let time = Double(step) / 100
            model.observe(replica: "a", latency: 0.01, failed: false, at: time)
            model.observe(replica: "b", latency: 0.05, failed: false, at: time)
        }
        let weights = model.weights(at: 6)
        #expect(weights["a"]! > 0.6)
        var writer = BinaryWriter()
        model.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        let restored = try RoutingModel(from: &reader)
        #expect(restored == model)
        #expect(reader.isAtEnd)
    }

    @Test func weightedPowerOfTwoPrefersHeavierWeightAndFewerInFlight() {
        var random = SplitMix64(seed: 5)
        var counts = [0, 0]
        for _ in 0..<10_000 { counts[WeightedPowerOfTwo.choose(weights: [0.9, 0.1], inFlight: [0, 0], using: &random)!] += 1 }
        #expect(counts[0] > 9000)
        // Equal weights: the replica with fewer calls in flight always wins when both are drawn.
        var idle = 0
        for _ in 0..<1000 where WeightedPowerOfTwo.choose(weights: [1, 1], inFlight: [5, 0], using: &random) == 1 { idle += 1 }
        #expect(idle == 1000)
        #expect(WeightedPowerOfTwo.choose(weights: [], inFlight: [], using: &random) == nil)
    }

    @Test func simulatedSlowdownShiftsTrafficAway() {
        let scenario = RoutingSimulation.scenarios[3]
        let learned = RoutingSimulation.run(scenario, policy: .learned)
        let roundRobin = RoutingSimulation.run(scenario, policy: .roundRobin)
        #expect(learned.meanLatency < roundRobin.meanLatency)
        let shifted = try! #require(learned.requestsUntilShiftedAway.first ?? nil)
        #expect(shifted <= 500)
    }
}
